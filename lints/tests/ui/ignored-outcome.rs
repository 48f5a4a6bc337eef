use asupersync::{race, Region};
use asupersync::time::timeout;

async fn positives(cx: &Cx, handle: TaskHandle<u8>) {
    Region::open(cx, "workers", |cx| async move {}).await;
    let _ = handle.join(cx).await;
    timeout(cx, D, work()).await;
    race!(a(), b()).await;
    let _ = asupersync::Region::open(cx, "x", |cx| async move {});
}

async fn negatives(cx: &Cx, handle: TaskHandle<u8>) -> Outcome<u8> {
    let outcome = Region::open(cx, "workers", |cx| async move {}).await;
    match handle.join(cx).await {
        Outcome::Ok(v) => v,
        _ => 0,
    };
    timeout(cx, D, work()).await?;
    let names = parts.join(",");
    parts.join(",");
    let joined = race!(a(), b()).await;
    outcome
}

async fn suppressed(cx: &Cx, handle: TaskHandle<u8>) {
    handle.join(cx).await; // asupersync: allow(ignored-outcome) -- best-effort cleanup task
}

async fn comments_and_strings(cx: &Cx) {
    // Region::open(cx, "x", |cx| async move {}).await;
    let text = "handle.join(cx).await;";
}
