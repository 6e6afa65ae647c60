//! Starts Taskboard: reads the configuration, migrates the database and serves.

use leptos::config::get_configuration;
use server::{config::Config, telemetry, Application};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    telemetry::init();
    let leptos_options = get_configuration(None)?.leptos_options;
    let config = Config::from_env(leptos_options)?;
    let app = Application::build(config).await?;
    tracing::info!("Taskboard is listening on http://{}", app.address());
    app.run_until_stopped().await?;
    Ok(())
}
