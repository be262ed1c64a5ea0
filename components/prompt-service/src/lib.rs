//! prompt-service: the component exporting `promptmesh:prompts/render@0.1.0`. It renders
//! templates strictly and validates Midjourney prompts with `promptmesh-prompt`, under a
//! policy read from the Spin variables `max_prompt_length`, `banned_words` and
//! `default_model`.

#[cfg(target_arch = "wasm32")]
mod component;
