use asupersync::Cx;

async fn positives(cx: &Cx, rx: &mut Receiver) {
    loop {
        let msg = next(rx).await;
        handle(msg);
    }
    while let Some(x) = stream.next().await {
        handle(x);
    }
    for item in items {
        store(item).await;
        for inner in item.parts() {
            store(inner).await;
        }
    }
}

fn in_closure(rt: &Runtime) {
    rt.block_on(|cx| async move {
        loop {
            tick().await;
        }
    });
}

async fn negatives(cx: &Cx) {
    loop {
        cx.checkpoint()?;
        work().await;
    }
    while let Some(v) = rx.recv(cx).await {
        handle(v);
    }
    for x in xs {
        asupersync::time::sleep(&cx, D).await;
    }
    loop {
        // No await: a CPU loop, not a suspension loop.
        spin();
        break;
    }
    loop {
        select!(cx, a, b);
    }
}

async fn no_context(rx: &mut Receiver) {
    loop {
        next(rx).await;
    }
}

async fn suppressed(cx: &Cx) {
    // asupersync: allow(loop-without-checkpoint) -- the stream ends on cancel by construction
    loop {
        next_frame().await;
    }
}

async fn mentions_in_comments_and_strings_do_not_count(cx: &Cx) {
    loop {
        // cx.checkpoint()? is only a comment here
        log("cx.checkpoint()");
        work().await;
    }
}

async fn compat_futures_are_cancelled_by_drop(cx: &Cx, host: &TokioHost) {
    use asupersync_tokio_compat::run;
    run(cx, async {
        while let Some(v) = tokio_rx.recv().await {
            handle(v);
        }
    })
    .await;
    host.run(cx, async move {
        for path in paths {
            client.get(path).send().await;
        }
    })
    .await;
    // Outside the compat future the usual rule applies.
    loop {
        something_else().await;
    }
}
