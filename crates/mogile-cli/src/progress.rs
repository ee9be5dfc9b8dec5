//! Progress bars for `put` and `get`: on stderr, only when stderr is a terminal and `--quiet` is
//! off, so scripts, pipes and logs never see them.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A transfer's progress bar, or nothing.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar for a transfer of `len` bytes (`None`: unknown), if bars are wanted at all.
    pub(crate) fn new(quiet: bool, label: &str, len: Option<u64>) -> Self {
        Self::with_terminal(wanted(quiet, std::io::stderr().is_terminal()), label, len)
    }

    /// A bar, drawn only when `enabled`.
    pub(crate) fn with_terminal(enabled: bool, label: &str, len: Option<u64>) -> Self {
        if !enabled {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
        style(&bar, len.is_some());
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    /// Whether anything is drawn.
    pub(crate) fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// Counts `n` more bytes.
    pub(crate) fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// The transfer starts over from its first byte (failover to another node).
    pub(crate) fn restart(&self) {
        if let Some(bar) = &self.bar {
            bar.set_position(0);
            bar.reset_eta();
        }
    }

    /// Sets the total once it is known, turning the spinner into a bar with an ETA.
    pub(crate) fn set_len(&self, len: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(len);
            style(bar, true);
        }
    }

    /// Removes the bar from the terminal.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A bar with the total, rate and ETA when the size is known; a spinner with bytes and rate
/// otherwise.
fn style(bar: &ProgressBar, sized: bool) {
    let template = if sized {
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{prefix} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}"
    };
    // The templates are constants; a bad one would only lose the styling, never the transfer.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}

impl mogilefs::Progress for Bar {
    fn on_bytes(&self, chunk: &[u8]) {
        self.inc(chunk.len() as u64);
    }

    fn on_restart(&self) {
        self.restart();
    }
}

/// Whether bars are drawn: stderr is a terminal and `--quiet` is off.
pub(crate) fn wanted(quiet: bool, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !quiet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_on_a_terminal_and_not_quiet() {
        assert!(wanted(false, true));
        assert!(!wanted(true, true));
        assert!(!wanted(false, false));
        assert!(!wanted(true, false));
    }

    #[test]
    fn a_disabled_bar_draws_nothing_and_ignores_updates() {
        let bar = Bar::with_terminal(false, "put", Some(10));
        assert!(!bar.is_drawn());
        bar.inc(5);
        bar.restart();
        bar.finish();
    }

    #[test]
    fn an_enabled_bar_counts_and_restarts() {
        let bar = Bar::with_terminal(true, "get", None);
        let inner = bar.bar.clone().unwrap();
        // Test processes have no terminal: keep the drawing away from the test output.
        inner.set_draw_target(ProgressDrawTarget::hidden());
        bar.inc(7);
        bar.inc(3);
        assert_eq!(inner.position(), 10);
        bar.set_len(20);
        assert_eq!(inner.length(), Some(20));
        bar.restart();
        assert_eq!(inner.position(), 0);
        bar.finish();
    }
}
