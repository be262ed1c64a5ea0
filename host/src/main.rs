//! The `prompt-mesh` command line.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use prompt_mesh::app::{App, LoadOptions};
use prompt_mesh::builder;
use prompt_mesh::demo::{self, DemoOptions, client::Api, library::Library};
use prompt_mesh::manifest::Manifest;
use prompt_mesh::trigger;
use prompt_mesh::trigger::http::Dispatcher;

/// Runs a Spin application of WebAssembly components with the service mesh built in.
#[derive(Parser)]
#[command(name = "prompt-mesh", version)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Compile every component with its `[component.X.build]` command.
    Build {
        /// The application manifest.
        #[arg(long, short = 'f', default_value = "spin.toml")]
        manifest: PathBuf,
        /// Build only this component (repeatable).
        #[arg(long = "component", short = 'c')]
        components: Vec<String>,
    },
    /// Run the application.
    Up(UpArgs),
    /// Run the main job on real input: load the template library, run generations across
    /// free and premium keys through the whole pipeline, rate the images, print a summary.
    Demo(DemoArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Run against this running application instead of starting one, e.g.
    /// http://127.0.0.1:3000 (needs --admin-key).
    #[arg(long)]
    url: Option<String>,
    /// Admin API key of the application at --url.
    #[arg(long, env = "PROMPT_MESH_ADMIN_KEY")]
    admin_key: Option<String>,
    /// The application manifest, when the demo starts the application.
    #[arg(long, short = 'f', default_value = "spin.toml")]
    manifest: PathBuf,
    /// Build the components before starting.
    #[arg(long)]
    build: bool,
    /// Data folder of the started application [default: a new temporary folder].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Folder for compiled machine code, kept between runs.
    #[arg(
        long,
        env = "PROMPT_MESH_CACHE_DIR",
        default_value = ".prompt-mesh/cache"
    )]
    cache_dir: PathBuf,
    /// Keep serving after the summary (until Ctrl-C), to look at the results.
    #[arg(long)]
    serve: bool,
    /// Address of the started application's listener; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The template library.
    #[arg(long, default_value = "demo/templates.toml")]
    templates: PathBuf,
    /// The subjects, one per line.
    #[arg(long, default_value = "demo/subjects.txt")]
    subjects: PathBuf,
    /// Generations to run.
    #[arg(long, default_value_t = 120)]
    generations: usize,
    /// Seed of the demo's random choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(clap::Args)]
struct UpArgs {
    /// The application manifest.
    #[arg(long, short = 'f', default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address of the HTTP listener; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Folder for key-value data, SQLite databases and the compile cache.
    #[arg(long, default_value = ".prompt-mesh")]
    data_dir: PathBuf,
    /// Folder for compiled machine code, shareable between applications
    /// [default: <data-dir>/cache].
    #[arg(long, env = "PROMPT_MESH_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Runtime config file (TOML) choosing backends for stores, databases and Redis.
    #[arg(long)]
    runtime_config: Option<PathBuf>,
    /// Serve only this component's triggers (repeatable), as `spin up -c`.
    #[arg(long = "component", short = 'c')]
    components: Vec<String>,
    /// Build the components before starting.
    #[arg(long)]
    build: bool,
    /// Log format on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Commands::Build {
            manifest,
            components,
        } => {
            let manifest = Manifest::load(&manifest)?;
            builder::build(&manifest, &components)
        }
        Commands::Up(args) => {
            init_logging(args.log);
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(up(args))
        }
        Commands::Demo(args) => {
            // The summary is the demo's output; the host it starts logs warnings only,
            // unless PROMPT_MESH_LOG asks for more.
            init_logging_at(LogFormat::Human, "warn");
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(run_demo(args))
        }
    }
}

fn init_logging(format: LogFormat) {
    init_logging_at(format, "info");
}

/// Logs at `level` and above, or as `PROMPT_MESH_LOG` says.
fn init_logging_at(format: LogFormat, level: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("PROMPT_MESH_LOG").unwrap_or_else(|_| {
            let default = format!("{level},wasmtime_cranelift=warn,cranelift=warn");
            tracing_subscriber::EnvFilter::new(default)
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal; a log file or pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    if args.build {
        builder::build(&Manifest::load(&args.manifest)?, &args.components)?;
    }
    let started = Instant::now();
    let options = LoadOptions {
        manifest: args.manifest,
        data_dir: args.data_dir,
        cache_dir: args.cache_dir,
        runtime_config: args.runtime_config,
        components: args.components,
    };
    let app = App::load(&options).await?;
    let running = Running::start(&app, args.listen).await?;
    report(&app, &running.dispatcher, running.listen, started);
    shutdown_signal().await;
    tracing::info!("Shutting down");
    running.stop();
    Ok(())
}

/// The triggers of a loaded application, serving.
struct Running {
    listen: SocketAddr,
    dispatcher: Arc<Dispatcher>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn start(app: &App, listen: SocketAddr) -> anyhow::Result<Running> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!("listening on {listen}; is another server using it? pass --listen")
            })?;
        let listen = listener.local_addr()?;
        let dispatcher = Arc::new(Dispatcher::new(app, listen)?);
        app.network.set(Arc::downgrade(&dispatcher)).ok();
        let mut tasks = trigger::redis::start(app).await?;
        let server = trigger::http::serve(listener, dispatcher.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %format!("{e:#}"), "HTTP listener failed");
            }
        }));
        Ok(Running {
            listen,
            dispatcher,
            tasks,
        })
    }

    fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let library = Library::load(&args.templates, &args.subjects)?;
    let options = DemoOptions {
        generations: args.generations,
        seed: args.seed,
        ..DemoOptions::default()
    };
    if let Some(url) = &args.url {
        let admin = args
            .admin_key
            .as_deref()
            .context("--url needs the application's admin key: pass --admin-key")?;
        let mut report = demo::run(&Api::new(url)?, admin, &library, &options).await?;
        report.base = url.clone();
        println!("\n{}", report.render());
        return Ok(());
    }
    if args.build {
        builder::build(&Manifest::load(&args.manifest)?, &[])?;
    }
    let temporary = tempfile::tempdir().context("creating the demo's data folder")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let options_load = LoadOptions {
        manifest: args.manifest.clone(),
        data_dir: data_dir.clone(),
        cache_dir: Some(args.cache_dir.clone()),
        runtime_config: None,
        components: Vec::new(),
    };
    let app = App::load(&options_load).await?;
    let admin = app
        .services
        .variables
        .get("admin_api_key")
        .filter(|k| !k.is_empty())
        .context("the application has no `admin_api_key` variable with a value")?
        .to_string();
    let running = Running::start(&app, args.listen).await?;
    let base = format!("http://{}", running.listen);
    eprintln!(
        "demo: application serving at {base}, data in {}",
        data_dir.display()
    );
    let mut report = demo::run(&Api::new(&base)?, &admin, &library, &options).await?;
    report.base = base.clone();
    println!("\n{}", report.render());
    if args.serve {
        println!("Serving {base} until Ctrl-C; admin key: {admin}");
        shutdown_signal().await;
    }
    running.stop();
    Ok(())
}

fn report(app: &App, dispatcher: &Dispatcher, listen: SocketAddr, started: Instant) {
    let engine = match app.engine.info.pooled_instances {
        Some(n) => format!("pooling allocator, {n} instance slots"),
        None => "on-demand allocator (pooling unavailable)".to_string(),
    };
    let ids: Vec<&str> = app.components.keys().map(String::as_str).collect();
    let elapsed = started.elapsed().as_millis();
    let (cached, compiled) = app.engine.cache_counts();
    println!(
        "Loaded components {} in {elapsed} ms ({engine}; modules: {cached} from the compile \
         cache, {compiled} compiled)",
        ids.join(", ")
    );
    for (name, value, path) in &app.generated_secrets {
        println!(
            "Generated {name} (shown once; kept in {}): {value}",
            path.display()
        );
    }
    println!("Serving http://{listen}");
    println!("Available Routes:");
    for (route, component) in dispatcher.routes() {
        println!("  {component}: http://{listen}{route}");
    }
    for trigger in &app.manifest.redis_triggers {
        if app.serving.contains(&trigger.component) {
            println!(
                "  {}: redis channel `{}` at {}",
                trigger.component, trigger.channel, trigger.address
            );
        }
    }
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
