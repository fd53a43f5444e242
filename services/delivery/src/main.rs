use std::process::ExitCode;

use herald_delivery::{App, Config};

#[tokio::main]
async fn main() -> ExitCode {
    herald_core::process::run_service(
        "herald-delivery",
        Config::from_env,
        |config, shutdown| async move { App::build(config).await?.run(shutdown).await },
    )
    .await
}
