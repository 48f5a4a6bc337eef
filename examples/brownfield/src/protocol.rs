//! The line protocol spoken between [`crate::client`] and [`crate::server`].
//!
//! One request per line, one reply per line (except `SUB`, after which the
//! server also pushes `MSG <channel> <payload>` lines as they are published).
//! Keys and channel names are single words; values and payloads run to the
//! end of the line.
//!
//! ```text
//! PING [text]              -> PONG [text]
//! GET key                  -> VALUE value | NIL
//! SET key value            -> OK
//! SETEX key millis value   -> OK              (expires after `millis`)
//! DEL key                  -> INT 1 | INT 0
//! INCR key                 -> INT n
//! KEYS                     -> KEYS k1 k2 ...
//! WAIT key millis          -> VALUE value | NIL (blocks until the key is set)
//! PUB channel payload      -> INT receivers
//! SUB channel              -> SUBSCRIBED channel, then MSG channel payload ...
//! SAVE                     -> SAVED n         (writes a snapshot now)
//! STATS                    -> STATS k=v ...
//! QUIT                     -> BYE
//! anything invalid         -> ERR message
//! ```
//!
//! This module is pure parsing and formatting; it does no IO.

use std::fmt;
use std::time::Duration;

/// Longest request line the server accepts.
pub const MAX_LINE: usize = 64 * 1024;

/// A parsed client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ping(Option<String>),
    Get(String),
    Set {
        key: String,
        value: String,
        ttl: Option<Duration>,
    },
    Del(String),
    Incr(String),
    Keys,
    Wait {
        key: String,
        timeout: Duration,
    },
    Publish {
        channel: String,
        payload: String,
    },
    Subscribe(String),
    Save,
    Stats,
    Quit,
}

/// Why a request line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn word<'a>(rest: &mut &'a str, what: &str) -> Result<&'a str, ParseError> {
    let trimmed = rest.trim_start();
    if trimmed.is_empty() {
        return Err(ParseError(format!("missing {what}")));
    }
    let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let (head, tail) = trimmed.split_at(end);
    *rest = tail;
    Ok(head)
}

fn tail<'a>(rest: &'a str, what: &str) -> Result<&'a str, ParseError> {
    let text = rest.strip_prefix(' ').unwrap_or(rest);
    if text.is_empty() {
        Err(ParseError(format!("missing {what}")))
    } else {
        Ok(text)
    }
}

fn millis(text: &str) -> Result<Duration, ParseError> {
    text.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| ParseError(format!("expected milliseconds, got `{text}`")))
}

fn no_more(rest: &str) -> Result<(), ParseError> {
    if rest.trim().is_empty() {
        Ok(())
    } else {
        Err(ParseError("too many arguments".into()))
    }
}

impl Command {
    /// Parses one request line (without its line terminator).
    pub fn parse(line: &str) -> Result<Command, ParseError> {
        let mut rest = line.trim_end_matches(['\r', '\n']);
        let verb = word(&mut rest, "command")?.to_ascii_uppercase();
        let command = match verb.as_str() {
            "PING" => {
                let text = rest.trim();
                Command::Ping((!text.is_empty()).then(|| text.to_owned()))
            }
            "GET" => {
                let key = word(&mut rest, "key")?.to_owned();
                no_more(rest)?;
                Command::Get(key)
            }
            "SET" => {
                let key = word(&mut rest, "key")?.to_owned();
                let value = tail(rest, "value")?.to_owned();
                Command::Set {
                    key,
                    value,
                    ttl: None,
                }
            }
            "SETEX" => {
                let key = word(&mut rest, "key")?.to_owned();
                let ttl = millis(word(&mut rest, "ttl")?)?;
                let value = tail(rest, "value")?.to_owned();
                Command::Set {
                    key,
                    value,
                    ttl: Some(ttl),
                }
            }
            "DEL" => {
                let key = word(&mut rest, "key")?.to_owned();
                no_more(rest)?;
                Command::Del(key)
            }
            "INCR" => {
                let key = word(&mut rest, "key")?.to_owned();
                no_more(rest)?;
                Command::Incr(key)
            }
            "KEYS" => {
                no_more(rest)?;
                Command::Keys
            }
            "WAIT" => {
                let key = word(&mut rest, "key")?.to_owned();
                let timeout = millis(word(&mut rest, "timeout")?)?;
                no_more(rest)?;
                Command::Wait { key, timeout }
            }
            "PUB" => {
                let channel = word(&mut rest, "channel")?.to_owned();
                let payload = tail(rest, "payload")?.to_owned();
                Command::Publish { channel, payload }
            }
            "SUB" => {
                let channel = word(&mut rest, "channel")?.to_owned();
                no_more(rest)?;
                Command::Subscribe(channel)
            }
            "SAVE" => Command::Save,
            "STATS" => Command::Stats,
            "QUIT" => Command::Quit,
            other => return Err(ParseError(format!("unknown command `{other}`"))),
        };
        Ok(command)
    }

    /// Formats the command as a request line (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            Command::Ping(None) => "PING".into(),
            Command::Ping(Some(text)) => format!("PING {text}"),
            Command::Get(key) => format!("GET {key}"),
            Command::Set {
                key,
                value,
                ttl: None,
            } => format!("SET {key} {value}"),
            Command::Set {
                key,
                value,
                ttl: Some(ttl),
            } => format!("SETEX {key} {} {value}", ttl.as_millis()),
            Command::Del(key) => format!("DEL {key}"),
            Command::Incr(key) => format!("INCR {key}"),
            Command::Keys => "KEYS".into(),
            Command::Wait { key, timeout } => format!("WAIT {key} {}", timeout.as_millis()),
            Command::Publish { channel, payload } => format!("PUB {channel} {payload}"),
            Command::Subscribe(channel) => format!("SUB {channel}"),
            Command::Save => "SAVE".into(),
            Command::Stats => "STATS".into(),
            Command::Quit => "QUIT".into(),
        }
    }
}

/// A reply line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Pong(Option<String>),
    Ok,
    Value(String),
    Nil,
    Int(i64),
    Keys(Vec<String>),
    Subscribed(String),
    Message { channel: String, payload: String },
    Saved(usize),
    Stats(Vec<(String, String)>),
    Bye,
    Error(String),
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Pong(None) => f.write_str("PONG"),
            Reply::Pong(Some(text)) => write!(f, "PONG {text}"),
            Reply::Ok => f.write_str("OK"),
            Reply::Value(value) => write!(f, "VALUE {value}"),
            Reply::Nil => f.write_str("NIL"),
            Reply::Int(n) => write!(f, "INT {n}"),
            Reply::Keys(keys) => {
                f.write_str("KEYS")?;
                for key in keys {
                    write!(f, " {key}")?;
                }
                Ok(())
            }
            Reply::Subscribed(channel) => write!(f, "SUBSCRIBED {channel}"),
            Reply::Message { channel, payload } => write!(f, "MSG {channel} {payload}"),
            Reply::Saved(n) => write!(f, "SAVED {n}"),
            Reply::Stats(pairs) => {
                f.write_str("STATS")?;
                for (key, value) in pairs {
                    write!(f, " {key}={value}")?;
                }
                Ok(())
            }
            Reply::Bye => f.write_str("BYE"),
            Reply::Error(message) => write!(f, "ERR {message}"),
        }
    }
}

impl Reply {
    /// Parses a reply line as received by the client.
    pub fn parse(line: &str) -> Result<Reply, ParseError> {
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let reply = match verb {
            "PONG" => Reply::Pong((!rest.is_empty()).then(|| rest.to_owned())),
            "OK" => Reply::Ok,
            "VALUE" => Reply::Value(rest.to_owned()),
            "NIL" => Reply::Nil,
            "INT" => Reply::Int(
                rest.parse()
                    .map_err(|_| ParseError(format!("bad integer `{rest}`")))?,
            ),
            "KEYS" => Reply::Keys(rest.split_whitespace().map(str::to_owned).collect()),
            "SUBSCRIBED" => Reply::Subscribed(rest.to_owned()),
            "MSG" => {
                let (channel, payload) = rest.split_once(' ').unwrap_or((rest, ""));
                Reply::Message {
                    channel: channel.to_owned(),
                    payload: payload.to_owned(),
                }
            }
            "SAVED" => Reply::Saved(
                rest.parse()
                    .map_err(|_| ParseError(format!("bad count `{rest}`")))?,
            ),
            "STATS" => Reply::Stats(
                rest.split_whitespace()
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            ),
            "BYE" => Reply::Bye,
            "ERR" => Reply::Error(rest.to_owned()),
            other => return Err(ParseError(format!("unexpected reply `{other}`"))),
        };
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(Command::parse("ping"), Ok(Command::Ping(None)));
        assert_eq!(
            Command::parse("SET greeting hello world\r\n"),
            Ok(Command::Set {
                key: "greeting".into(),
                value: "hello world".into(),
                ttl: None
            })
        );
        assert_eq!(
            Command::parse("SETEX k 250 v"),
            Ok(Command::Set {
                key: "k".into(),
                value: "v".into(),
                ttl: Some(Duration::from_millis(250))
            })
        );
        assert!(Command::parse("GET").is_err());
        assert!(Command::parse("GET a b").is_err());
        assert!(Command::parse("FROB x").is_err());
        assert!(Command::parse("").is_err());
    }

    #[test]
    fn commands_round_trip_through_lines() {
        let commands = [
            Command::Ping(Some("hi there".into())),
            Command::Wait {
                key: "job".into(),
                timeout: Duration::from_millis(900),
            },
            Command::Publish {
                channel: "news".into(),
                payload: "a b c".into(),
            },
            Command::Set {
                key: "k".into(),
                value: "v w".into(),
                ttl: Some(Duration::from_millis(5)),
            },
        ];
        for command in commands {
            assert_eq!(Command::parse(&command.to_line()), Ok(command));
        }
    }

    #[test]
    fn replies_round_trip_through_lines() {
        let replies = [
            Reply::Pong(None),
            Reply::Value("two words".into()),
            Reply::Int(-3),
            Reply::Keys(vec!["a".into(), "b".into()]),
            Reply::Message {
                channel: "news".into(),
                payload: "hello there".into(),
            },
            Reply::Stats(vec![("keys".into(), "2".into())]),
            Reply::Error("nope".into()),
        ];
        for reply in replies {
            assert_eq!(Reply::parse(&reply.to_string()), Ok(reply));
        }
    }
}
