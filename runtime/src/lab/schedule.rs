//! Recorded schedules: every choice a lab run made, so that it replays exactly.
//!
//! A run makes two kinds of random choices: which runnable task to poll (when more than
//! one is runnable) and the chaos rolls (inject a delay? how long? cancel whom?). Each
//! is drawn through [`Decisions`], which records the value. Replaying feeds the recorded
//! values back instead of drawing them, so a replay does not depend on the seed, the
//! strategy or the generator: only on the program making the same requests. If it does
//! not (the code changed), the replay reports where it diverged.
//!
//! The file format is line-oriented text:
//!
//! ```text
//! asupersync-lab-schedule 1
//! seed 17
//! chaos delay=0 max_delay_ns=10000000 wake=0 cancel=0
//! decisions 1 0 2 0 1
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::rng::SplitMix64;
use super::Chaos;

/// The choices a lab run made; saved with [`LabReport::save_schedule`](super::LabReport::save_schedule)
/// and replayed with [`LabConfig::replay`](super::LabConfig::replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The seed of the run that recorded it (informational on replay).
    pub seed: u64,
    /// The chaos settings of the run (a replay uses the same ones).
    pub chaos: Chaos,
    /// The choices, in order.
    pub decisions: Vec<u32>,
}

const MAGIC: &str = "asupersync-lab-schedule 1";

impl Schedule {
    /// The file text.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(64 + self.decisions.len() * 2);
        let c = &self.chaos;
        let _ = writeln!(text, "{MAGIC}");
        let _ = writeln!(text, "seed {}", self.seed);
        let _ = writeln!(
            text,
            "chaos delay={:?} max_delay_ns={} wake={:?} cancel={:?}",
            c.delay,
            c.max_delay.as_nanos(),
            c.spurious_wake,
            c.cancel
        );
        text.push_str("decisions");
        for d in &self.decisions {
            let _ = write!(text, " {d}");
        }
        text.push('\n');
        text
    }

    /// Parses the file text.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(MAGIC) {
            return Err(format!(
                "not a lab schedule (the first line must be `{MAGIC}`)"
            ));
        }
        let mut schedule = Schedule {
            seed: 0,
            chaos: Chaos::default(),
            decisions: Vec::new(),
        };
        for line in lines {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("seed") => {
                    schedule.seed = parse_num(words.next(), "seed")?;
                }
                Some("chaos") => {
                    for word in words {
                        let (key, value) = word
                            .split_once('=')
                            .ok_or_else(|| format!("bad chaos setting `{word}`"))?;
                        let float = || {
                            value
                                .parse::<f64>()
                                .map_err(|_| format!("bad number in `{word}`"))
                        };
                        match key {
                            "delay" => schedule.chaos.delay = float()?,
                            "wake" => schedule.chaos.spurious_wake = float()?,
                            "cancel" => schedule.chaos.cancel = float()?,
                            "max_delay_ns" => {
                                schedule.chaos.max_delay =
                                    Duration::from_nanos(parse_num(Some(value), key)?)
                            }
                            _ => return Err(format!("unknown chaos setting `{key}`")),
                        }
                    }
                }
                Some("decisions") => {
                    for word in words {
                        schedule.decisions.push(parse_num(Some(word), "decision")?);
                    }
                }
                Some(other) => return Err(format!("unknown line `{other} ..`")),
                None => {}
            }
        }
        Ok(schedule)
    }

    /// Writes the schedule to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_text())
    }

    /// Reads a schedule from `path`.
    pub fn load(path: impl AsRef<Path>) -> std::io::Result<Schedule> {
        let text = std::fs::read_to_string(path)?;
        Schedule::parse(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

fn parse_num<N: std::str::FromStr>(word: Option<&str>, what: &str) -> Result<N, String> {
    let word = word.ok_or_else(|| format!("missing {what}"))?;
    word.parse()
        .map_err(|_| format!("bad {what} `{word}` in lab schedule"))
}

/// The source of a run's random choices: fresh draws (recorded) or a replay.
pub(crate) struct Decisions {
    pub(crate) rng: SplitMix64,
    replay: Option<(Arc<[u32]>, usize)>,
    recorded: Vec<u32>,
    /// Where a replay stopped matching the program, if it did.
    pub(crate) diverged: Option<String>,
}

impl Decisions {
    pub(crate) fn new(seed: u64, replay: Option<Arc<[u32]>>) -> Decisions {
        Decisions {
            rng: SplitMix64::new(seed),
            replay: replay.map(|d| (d, 0)),
            recorded: Vec::new(),
            diverged: None,
        }
    }

    pub(crate) fn is_replay(&self) -> bool {
        self.replay.is_some()
    }

    /// A choice in `0..n`: `fresh` draws it unless this is a replay.
    pub(crate) fn choose(
        &mut self,
        n: usize,
        fresh: impl FnOnce(&mut SplitMix64) -> usize,
    ) -> usize {
        let value = match &mut self.replay {
            Some((recorded, pos)) => {
                let value = recorded.get(*pos).copied();
                *pos += 1;
                match value {
                    Some(v) if (v as usize) < n => v as usize,
                    _ => {
                        if self.diverged.is_none() {
                            self.diverged = Some(format!(
                                "replay diverged at decision {}: recorded {:?}, but the program offered {n} choices",
                                *pos - 1,
                                value
                            ));
                        }
                        0
                    }
                }
            }
            None => fresh(&mut self.rng),
        };
        self.recorded.push(value as u32);
        value
    }

    /// A uniform choice in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.choose(n, |rng| rng.below(n as u64) as usize)
    }

    /// `true` with probability `p`; never draws (nor records) when `p` is zero.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        self.choose(2, |rng| usize::from(rng.chance(p))) == 1
    }

    pub(crate) fn take_recorded(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let schedule = Schedule {
            seed: 42,
            chaos: Chaos {
                delay: 0.25,
                max_delay: Duration::from_millis(3),
                spurious_wake: 0.1,
                cancel: 0.0,
            },
            decisions: vec![1, 0, 3, 2],
        };
        assert_eq!(Schedule::parse(&schedule.to_text()).unwrap(), schedule);
        assert!(Schedule::parse("hello").is_err());
    }

    #[test]
    fn replay_feeds_back_and_reports_divergence() {
        let mut fresh = Decisions::new(9, None);
        let picks: Vec<usize> = (0..20).map(|_| fresh.below(4)).collect();
        let recorded: Arc<[u32]> = fresh.take_recorded().into();
        let mut replay = Decisions::new(12345, Some(recorded));
        let replayed: Vec<usize> = (0..20).map(|_| replay.below(4)).collect();
        assert_eq!(picks, replayed);
        assert!(replay.diverged.is_none());
        replay.below(4);
        assert!(replay.diverged.as_deref().unwrap().contains("decision 20"));
    }
}
