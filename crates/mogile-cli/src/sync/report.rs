//! What a sync shows: bars for objects and bytes on stderr (a terminal only, not with `-q`), a
//! line per failure (stderr; with `--json` an NDJSON line on stdout), with `--dry-run` a line per
//! planned change, and the summary (with `--json` a final `"type": "summary"` line).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::engine::Summary;
use crate::exit::Failure;
use crate::key_text::{display, json as key_json};
use crate::output::Out;

/// Where the lines go, and the bars.
#[derive(Debug)]
pub(crate) struct Reporter<'o> {
    out: Option<&'o mut Out>,
    json: bool,
    quiet: bool,
    bars: Option<Bars>,
    /// Failures, kept when there is no `Out` (tests).
    pub(crate) failures: Vec<(Vec<u8>, String)>,
    /// Planned changes, kept when there is no `Out` (tests).
    pub(crate) planned: Vec<String>,
}

#[derive(Debug, Clone)]
struct Bars {
    multi: MultiProgress,
    objects: ProgressBar,
    bytes: ProgressBar,
}

/// Counts listed keys on the objects bar while both sides list at once.
#[derive(Debug, Clone)]
pub(crate) struct ListSink(Option<ProgressBar>);

impl ListSink {
    /// One more key listed.
    pub(crate) fn listed(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl<'o> Reporter<'o> {
    /// Lines to `out`, bars when stderr is a terminal and `quiet` is off.
    pub(crate) fn new(out: &'o mut Out, quiet: bool) -> Self {
        let json = out.is_json();
        let bars = crate::progress::wanted(quiet, std::io::stderr().is_terminal()).then(Bars::new);
        Self {
            out: Some(out),
            json,
            quiet,
            bars,
            failures: Vec::new(),
            planned: Vec::new(),
        }
    }

    /// A reporter that only records (tests).
    #[cfg(test)]
    pub(crate) fn recording() -> Self {
        Self {
            out: None,
            json: false,
            quiet: true,
            bars: None,
            failures: Vec::new(),
            planned: Vec::new(),
        }
    }

    /// The listing starts.
    pub(crate) fn listing(&self) {
        if let Some(b) = &self.bars {
            b.objects.set_message("listing");
        }
    }

    /// A counter for the listings.
    pub(crate) fn clone_sink(&self) -> ListSink {
        ListSink(self.bars.as_ref().map(|b| b.objects.clone()))
    }

    /// Both listings are complete: the objects bar gets its total, and an ETA; `done` keys were
    /// already dealt with (copied while listing).
    pub(crate) fn comparing(&self, source_keys: u64, done: u64) {
        if let Some(b) = &self.bars {
            b.objects.set_position(done);
            b.objects.set_length(source_keys);
            b.objects.set_message("objects");
            style(
                &b.objects,
                "{msg:8} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
            );
            b.objects.reset_eta();
        }
    }

    /// The bar bytes are counted on.
    pub(crate) fn bytes_bar(&self) -> Option<ProgressBar> {
        self.bars.as_ref().map(|b| b.bytes.clone())
    }

    /// One source key dealt with.
    pub(crate) fn object_done(&self) {
        if let Some(b) = &self.bars {
            b.objects.inc(1);
        }
    }

    /// Removes the bars.
    pub(crate) fn finish_bars(&self) {
        if let Some(b) = &self.bars {
            b.objects.finish_and_clear();
            b.bytes.finish_and_clear();
        }
    }

    /// A key failed.
    pub(crate) fn failure(&mut self, key: &[u8], reason: &str) {
        if self.json {
            let line = json!({"type": "failure", "key": key_json(key), "reason": reason});
            self.json_line(&line);
        } else if self.out.is_some() {
            let line = format!("mogile: sync: {}: {reason}", display(key));
            let line = mogilefs::printable(&line).to_string();
            match &self.bars {
                Some(b) => b.multi.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
        if self.out.is_none() {
            self.failures.push((key.to_vec(), reason.to_string()));
        }
    }

    /// `--dry-run`: a key would be copied.
    pub(crate) fn would_copy(&mut self, key: &[u8]) {
        self.planned("copy", key);
    }

    /// `--dry-run`: a key would be deleted.
    pub(crate) fn would_delete(&mut self, key: &[u8]) {
        self.planned("delete", key);
    }

    fn planned(&mut self, what: &str, key: &[u8]) {
        if self.out.is_none() {
            self.planned.push(format!("{what} {}", display(key)));
            return;
        }
        if self.json {
            let line = json!({"type": format!("would_{what}"), "key": key_json(key)});
            self.json_line(&line);
        } else if !self.quiet {
            let line = format!("would {what} {}", display(key));
            if let Some(out) = self.out.as_deref_mut() {
                let _ = out.line(&line);
            }
        }
    }

    fn json_line(&mut self, v: &serde_json::Value) {
        if let Some(out) = self.out.as_deref_mut() {
            // A closed stdout shows at the summary, which fails the command.
            let _ = out.json(v);
            let _ = out.flush();
        }
    }

    /// The summary line, and the command's result.
    pub(crate) fn summary(&mut self, s: &Summary) -> Result<(), Failure> {
        let secs = s.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            s.bytes as f64 / secs
        } else {
            0.0
        };
        if let Some(out) = self.out.as_deref_mut() {
            if self.json {
                out.json(&json!({
                    "type": "summary",
                    "listed_source": s.listed_source,
                    "listed_destination": s.listed_destination,
                    "copied": s.copied,
                    "copied_while_listing": s.copied_while_listing,
                    "identical": s.identical,
                    "deleted": s.deleted,
                    "failed": s.failed,
                    "bytes": s.bytes,
                    "seconds": secs,
                    "bytes_per_second": rate,
                    "dry_run": s.dry_run,
                    "aborted": s.aborted,
                    "deletes_refused": s.deletes_refused,
                }))?;
            } else if !self.quiet {
                for line in text_summary(s, secs, rate).lines() {
                    out.line(line)?;
                }
            }
        }
        if let Some(reason) = &s.aborted {
            return Err(Failure::failed(format!("sync: {reason}")));
        }
        if let Some(reason) = &s.deletes_refused {
            return Err(Failure::failed(format!("sync: {reason}")));
        }
        if s.failed > 0 {
            return Err(Failure::failed(format!(
                "sync: {} keys failed (each is listed above with its reason)",
                s.failed
            )));
        }
        Ok(())
    }
}

fn text_summary(s: &Summary, secs: f64, rate: f64) -> String {
    let verb = if s.dry_run { "would copy" } else { "copied" };
    let deleted = if s.dry_run { "would delete" } else { "deleted" };
    let mut line = format!(
        "listed {} source, {} destination; {verb} {} ({}), identical {}, {deleted} {}, failed {}; {:.2} s, {}/s",
        s.listed_source,
        s.listed_destination,
        s.copied,
        human(s.bytes as f64),
        s.identical,
        s.deleted,
        s.failed,
        secs,
        human(rate),
    );
    if s.copied == 0 && s.deleted == 0 && s.failed == 0 && s.aborted.is_none() {
        line.push_str("\nnothing to do: the destination is up to date");
    }
    line
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let objects = multi.add(ProgressBar::no_length());
        style(&objects, "{msg:8} {spinner} {pos} keys {elapsed}");
        objects.enable_steady_tick(Duration::from_millis(200));
        let bytes = multi.add(ProgressBar::no_length());
        style(&bytes, "bytes    {spinner} {bytes} {binary_bytes_per_sec}");
        bytes.enable_steady_tick(Duration::from_millis(200));
        Self {
            multi,
            objects,
            bytes,
        }
    }
}

fn style(bar: &ProgressBar, template: &str) {
    // The templates are constants; a bad one would only lose the styling.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let s = Summary {
            listed_source: 3,
            copied: 2,
            bytes: 3 * 1024 * 1024,
            identical: 1,
            ..Summary::default()
        };
        let t = text_summary(&s, 1.5, 2048.0);
        assert!(
            t.starts_with("listed 3 source, 0 destination; copied 2 (3.0 MiB), identical 1"),
            "{t}"
        );
        assert!(t.ends_with("2.0 KiB/s"), "{t}");
        let noop = Summary {
            listed_source: 3,
            identical: 3,
            ..Summary::default()
        };
        assert!(text_summary(&noop, 0.1, 0.0).contains("nothing to do"));
    }
}
