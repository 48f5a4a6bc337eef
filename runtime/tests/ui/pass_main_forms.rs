// `main` may take `cx: &Cx` and return a Result.
#[asupersync::main]
async fn main(cx: &asupersync::Cx) -> Result<(), std::io::Error> {
    asupersync::time::sleep(cx, std::time::Duration::from_millis(1)).await?;
    Ok(())
}
