async fn positives(state: &std::sync::Mutex<u32>, lock: &RwLock<Vec<u8>>) {
    let mut guard = state.lock().unwrap();
    *guard += 1;
    save(*guard).await;

    let data = lock.read().expect("poisoned");
    if ready() {
        send(&data).await;
    }
}

async fn negatives(cx: &Cx, state: &std::sync::Mutex<u32>, native: &asupersync::sync::Mutex<u32>) {
    {
        let mut guard = state.lock().unwrap();
        *guard += 1;
    }
    save(1).await;

    let guard = state.lock().unwrap();
    let copy = *guard;
    drop(guard);
    save(copy).await;

    let value = state.lock().unwrap().clone();
    save(value).await;

    let native_guard = native.lock(cx).await;
    save(*native_guard).await;

    let async_guard = tokio_lock.lock().await;
    save(*async_guard).await;

    let pending = tokio_lock.lock();
    let later_guard = pending.await;
    save(*later_guard).await;
}

fn sync_code(state: &std::sync::Mutex<u32>) {
    let guard = state.lock().unwrap();
    block_on(async { work().await });
}

async fn moved_guards(state: &std::sync::Mutex<u32>) {
    // Moved into a call before the await: released.
    let guard = state.lock().unwrap();
    consume(guard);
    save(1).await;
    // Moved into the awaited future: still held across the await.
    let held = state.lock().unwrap();
    save_guard(held).await;
}

async fn suppressed(state: &std::sync::Mutex<u32>) {
    // asupersync: allow(await-holding-lock) -- single-threaded lab runtime only
    let guard = state.lock().unwrap();
    save(*guard).await;
}

async fn comments_and_strings(state: &std::sync::Mutex<u32>) {
    // let guard = state.lock().unwrap(); save(*guard).await;
    let text = "let guard = state.lock().unwrap(); save(*guard).await;";
    save(text.len() as u32).await;
}

async fn value_copied_out(started: &std::sync::Mutex<Option<u64>>) {
    // The second unwrap applies to the guarded Option: the guard is a temporary that
    // is gone at the end of the statement, and `at` is a plain u64.
    let at = started.lock().unwrap().expect("started");
    save(at as u32).await;
}
