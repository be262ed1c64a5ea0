//! The `prompt-mesh` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use prompt_mesh::app::{App, LoadOptions};
use prompt_mesh::builder;
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
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("PROMPT_MESH_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,wasmtime_cranelift=warn,cranelift=warn")
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {}; is another server using it? pass --listen",
                args.listen
            )
        })?;
    let listen = listener.local_addr()?;
    let dispatcher = Arc::new(Dispatcher::new(&app, listen)?);
    app.network.set(Arc::downgrade(&dispatcher)).ok();
    let redis_tasks = trigger::redis::start(&app).await?;
    report(&app, &dispatcher, listen, started);
    let server = tokio::spawn(trigger::http::serve(listener, dispatcher.clone()));
    shutdown_signal().await;
    tracing::info!("Shutting down");
    server.abort();
    for task in redis_tasks {
        task.abort();
    }
    Ok(())
}

fn report(app: &App, dispatcher: &Dispatcher, listen: SocketAddr, started: Instant) {
    let engine = match app.engine.info.pooled_instances {
        Some(n) => format!("pooling allocator, {n} instance slots"),
        None => "on-demand allocator (pooling unavailable)".to_string(),
    };
    let ids: Vec<&str> = app.components.keys().map(String::as_str).collect();
    let elapsed = started.elapsed().as_millis();
    println!(
        "Loaded components {} in {elapsed} ms ({engine})",
        ids.join(", ")
    );
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
