// `main` may return an `ExitCode`, as a Tokio `main` can (migrated mains keep theirs).
use std::process::ExitCode;

#[asupersync::main]
async fn main(cx: &asupersync::Cx) -> ExitCode {
    match asupersync::time::sleep(cx, std::time::Duration::from_millis(1)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
