//! `brownfield serve` runs the server; `brownfield client` talks to one.
//!
//! ```text
//! brownfield serve [--config FILE] [--listen ADDR] [--http ADDR|off]
//!                  [--snapshot PATH] [--webhook URL] [--max-connections N]
//!                  [--idle-timeout-ms N] [--drain-timeout-ms N]
//! brownfield client [--addr ADDR] COMMAND [ARGS...]     e.g. client SET greeting hello
//! brownfield client [--http ADDR] health|http-stats
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

use brownfield::protocol::{Command, Reply};
use brownfield::{client, Client, Config, Server};
use tokio::signal;

const USAGE: &str = "usage:
  brownfield serve [--config FILE] [--listen ADDR] [--http ADDR|off] [--snapshot PATH]
                   [--webhook URL] [--max-connections N] [--idle-timeout-ms N]
                   [--drain-timeout-ms N]
  brownfield client [--addr ADDR] COMMAND [ARGS...]
  brownfield client [--http ADDR] health|http-stats";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((sub, rest)) if sub == "serve" => serve(rest).await,
        Some((sub, rest)) if sub == "client" => run_client(rest).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("brownfield: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}\n{USAGE}", message.into()),
    )
}

/// `--flag value` pairs, flag names without the dashes.
type Flags<'a> = Vec<(&'a str, &'a str)>;

/// Splits `--flag value` pairs off the front of `args`.
fn flags(args: &[String]) -> io::Result<(Flags<'_>, &[String])> {
    let mut pairs = Vec::new();
    let mut rest = args;
    while let Some(flag) = rest.first().and_then(|arg| arg.strip_prefix("--")) {
        let value = rest
            .get(1)
            .ok_or_else(|| usage_error(format!("--{flag} needs a value")))?;
        pairs.push((flag, value.as_str()));
        rest = &rest[2..];
    }
    Ok((pairs, rest))
}

async fn serve(args: &[String]) -> io::Result<()> {
    let (pairs, rest) = flags(args)?;
    if !rest.is_empty() {
        return Err(usage_error(format!("unexpected argument `{}`", rest[0])));
    }
    let mut config = match pairs.iter().find(|(flag, _)| *flag == "config") {
        Some((_, path)) => Config::load(path).await?,
        None => Config::default(),
    };
    for (flag, value) in pairs.iter().filter(|(flag, _)| *flag != "config") {
        config.set(&flag.replace('-', "_"), value)?;
    }

    let server = Server::bind(config).await?;
    eprintln!("brownfield: listening on {}", server.local_addr()?);
    if let Some(http) = server.http_addr() {
        eprintln!("brownfield: http on http://{http}/health");
    }
    let report = server.run(shutdown_signal()).await?;
    eprintln!(
        "brownfield: stopped ({} connections open at shutdown, {})",
        report.open_at_shutdown,
        if report.drained {
            "all drained"
        } else {
            "drain timed out"
        }
    );
    Ok(())
}

/// Completes on Ctrl-C, or on SIGTERM where there is such a thing.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = signal::ctrl_c().await {
            eprintln!("brownfield: cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => eprintln!("brownfield: Ctrl-C received, shutting down"),
        () = terminate => eprintln!("brownfield: SIGTERM received, shutting down"),
    }
}

async fn run_client(args: &[String]) -> io::Result<()> {
    let (pairs, words) = flags(args)?;
    let mut addr: SocketAddr = Config::default().listen_addr;
    let mut http = Config::default().http_addr;
    for (flag, value) in pairs {
        let parsed = value
            .parse()
            .map_err(|_| usage_error(format!("bad address `{value}`")))?;
        match flag {
            "addr" => addr = parsed,
            "http" => http = Some(parsed),
            other => return Err(usage_error(format!("unknown flag --{other}"))),
        }
    }
    if words.is_empty() {
        return Err(usage_error("missing command"));
    }

    let http_target = || http.ok_or_else(|| usage_error("no --http address"));
    match words[0].as_str() {
        "health" => {
            let (status, body) = client::http_health(http_target()?).await?;
            println!("{status} {body}");
            return Ok(());
        }
        "http-stats" => {
            let stats = client::http_stats(http_target()?).await?;
            println!("{stats:#?}");
            return Ok(());
        }
        _ => {}
    }

    let command = Command::parse(&words.join(" ")).map_err(|err| usage_error(err.to_string()))?;
    let connection = Client::connect(addr).await?;
    if let Command::Subscribe(channel) = &command {
        let mut subscription = connection.subscribe(channel).await?;
        eprintln!("subscribed to {channel}; Ctrl-C to stop");
        loop {
            tokio::select! {
                message = subscription.next_message() => match message? {
                    Some(message) => println!("{} {}", message.channel, message.payload),
                    None => return Ok(()),
                },
                _ = signal::ctrl_c() => return Ok(()),
            }
        }
    }

    let reply = match connection.request(&command).await {
        Ok(reply) => reply,
        Err(err) if err.kind() == io::ErrorKind::Other => {
            // `ERR ...` from the server: show it as the server said it.
            println!("{err}");
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    match reply {
        Reply::Value(value) => println!("{value}"),
        other => println!("{other}"),
    }
    Ok(())
}
