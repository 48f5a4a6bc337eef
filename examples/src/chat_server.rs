//! A line-based chat server with a graceful shutdown.
//!
//! Protocol: a client's first line is its nickname; every later line is a message
//! that every other client receives as `nick: text`. Joins and leaves are announced as
//! `* nick joined` / `* nick left`, and at shutdown every client gets
//! [`SHUTDOWN_NOTICE`] before its connection closes.
//!
//! Structure: the server is one region; each client is a task in it, and fan-out is a
//! `broadcast` channel every client task subscribes to. A client task waits on two
//! things at once, its socket and the channel, with `select!`: whichever has something
//! first wins, and the other wait is cancelled *and drained*. Both waits are cancel-safe
//! (a partial line stays in `Lines`, an unreceived message stays in the channel), so
//! nothing is lost when one loses.
//!
//! Shutdown is the cancellation protocol, and the drain budget is what makes it
//! graceful: once a client task is cancelled, every `cx`-taking IO call refuses (they
//! are cancellation points), but the task still runs until it returns. It uses that
//! time to write its last line with a plain futures-io write, which checks no
//! cancellation; a client that does not read cannot hold the server up, because the
//! runtime drops the task when the drain budget is spent. Either way the region, and
//! so [`serve`], closes.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use asupersync::channel::broadcast::{self, error::RecvError};
use asupersync::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use asupersync::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use asupersync::net::{TcpListener, TcpStream};
use asupersync::{Cx, Outcome, Region};

use crate::accept_until_shutdown;

/// The last line every connected client receives when the server shuts down.
pub const SHUTDOWN_NOTICE: &str = "* server shutting down";

/// Messages a slow client may fall behind by before it misses some.
const BACKLOG: usize = 256;

/// What a finished server did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChatReport {
    /// Clients that connected.
    pub clients: u64,
    /// Clients that were still connected at shutdown and were sent the notice.
    pub notified_at_shutdown: u64,
}

/// One line for the room, from client `from` (who does not get it back).
#[derive(Clone, Debug)]
struct Said {
    from: u64,
    text: Arc<str>,
}

/// Serves the chat on `listener` until shutdown, then tells every client, waits for
/// every client task to end, and returns what it did.
pub async fn serve(cx: &Cx, listener: TcpListener) -> Outcome<io::Result<ChatReport>> {
    let notified = Arc::new(AtomicU64::new(0));
    let counted = notified.clone();
    Region::open(cx, "chat-server", |cx| async move {
        let (room, _) = broadcast::channel::<Said>(BACKLOG);
        let mut clients = 0;
        while let Some((stream, _peer)) = accept_until_shutdown(&cx, &listener).await? {
            clients += 1;
            let (room, notified, id) = (room.clone(), counted.clone(), clients);
            // Each client is a task of the server region: `serve` waits for all.
            cx.spawn_named(format!("client-{id}"), move |cx| async move {
                let _ = client(&cx, stream, id, room, &notified).await;
            });
        }
        Ok(clients)
    })
    .await
    // The region is closed: every client task has ended, every socket is closed.
    .map(|served: io::Result<u64>| {
        served.map(|clients| ChatReport {
            clients,
            notified_at_shutdown: notified.load(Ordering::Relaxed),
        })
    })
}

/// Serves one client: nickname, then chat until it leaves or the server stops.
async fn client(
    cx: &Cx,
    stream: TcpStream,
    id: u64,
    room: broadcast::Sender<Said>,
    notified: &AtomicU64,
) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let chatted = async {
        let Some(nick) = lines.next_line(cx).await? else {
            return Ok(());
        };
        let nick = match nick.trim() {
            "" => format!("guest-{id}"),
            name => name.to_string(),
        };
        // Subscribe before announcing, so this client misses nothing said after.
        let mut inbox = room.subscribe();
        writer
            .write_all(cx, format!("* welcome, {nick}\n").as_bytes())
            .await?;
        say(&room, id, format!("* {nick} joined"));
        let result = chat(cx, id, &nick, &mut lines, &mut inbox, &mut writer, &room).await;
        if !cx.is_cancel_requested() {
            say(&room, id, format!("* {nick} left"));
        }
        result
    }
    .await;
    if cx.is_cancel_requested() {
        // Draining: `cx` IO refuses now, so the last words go out through the plain
        // futures-io write. The drain budget bounds it.
        let notice = format!("{SHUTDOWN_NOTICE}\n");
        futures_util::AsyncWriteExt::write_all(&mut writer, notice.as_bytes()).await?;
        notified.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    chatted
}

/// Relays between the client's socket and the room until the client hangs up (`Ok`),
/// or the task is cancelled or the socket fails (`Err`).
async fn chat(
    cx: &Cx,
    id: u64,
    nick: &str,
    lines: &mut Lines<BufReader<OwnedReadHalf>>,
    inbox: &mut broadcast::Receiver<Said>,
    writer: &mut OwnedWriteHalf,
    room: &broadcast::Sender<Said>,
) -> io::Result<()> {
    loop {
        // The loser of each round is cancelled and drained before the handler runs;
        // both waits are cancel-safe, so nothing is lost.
        asupersync::select! {
            line = lines.next_line(cx) => match line? {
                Some(text) => say(room, id, format!("{nick}: {text}")),
                None => return Ok(()),
            },
            received = inbox.recv(cx) => match received {
                Ok(said) if said.from == id => {}
                Ok(said) => writer.write_all(cx, format!("{}\n", said.text).as_bytes()).await?,
                Err(RecvError::Lagged(missed)) => {
                    writer.write_all(cx, format!("* you missed {missed} messages\n").as_bytes()).await?
                }
                Err(RecvError::Closed) => return Ok(()),
                Err(RecvError::Cancelled(cancelled)) => return Err(cancelled.into()),
            },
        }
    }
}

fn say(room: &broadcast::Sender<Said>, from: u64, text: String) {
    // `Err` only means nobody is listening.
    let _ = room.send(Said {
        from,
        text: text.into(),
    });
}
