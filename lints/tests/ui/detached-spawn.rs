use std::thread;

async fn positives() {
    tokio::spawn(async {});
    let _ = thread::spawn(|| {});
    let _: tokio::task::JoinHandle<()> = tokio::task::spawn_blocking(|| {});
    let handle = tokio::spawn(async {});
    drop(handle);
}

async fn negatives(cx: &Cx) {
    let handle = tokio::spawn(async {});
    handle.await.unwrap();
    let worker = thread::spawn(|| 1);
    let _ = worker.join();
    tokio::spawn(async {}).await.unwrap();
    cx.spawn(|cx| async move {});
    set.spawn(async {});
    let s = "tokio::spawn(async {});";
    // tokio::spawn(async {});
}

fn suppressed() {
    // asupersync: allow(detached-spawn) -- the logger thread lives as long as the process
    thread::spawn(|| loop {});
}
