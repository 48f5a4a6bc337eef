#[asupersync::lab_test(seeds = 0..4, strategy = "pct", depth = 2, steps = 16)]
async fn explores(cx: &asupersync::Cx) -> Result<(), String> {
    let h = cx.spawn(|_cx| async move { 1 });
    h.join(cx).await.unwrap();
    Ok(())
}

fn main() {}
