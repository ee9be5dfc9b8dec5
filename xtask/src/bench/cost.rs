//! `cargo xtask bench --only tracker-cost`: what one tracker request costs in user space, counted
//! rather than timed, for the client, for part 1's raw loop and for its typed floor (the raw loop
//! plus the protocol's own work).
//!
//! Runs `bench tracker-loop` (exactly N requests of one of part 1's commands, `get_paths` and
//! `file_info`, reading no clock) under
//! `valgrind --tool=callgrind --cache-sim=yes` at two request counts, and divides the difference
//! of the totals by the difference of the counts: instructions, and misses of the simulated
//! first-level instruction and data caches, per request. Unlike CPU time on a shared machine, the
//! counts are the same from run to run (the misses move with the build's code layout), so they
//! can tell changes of a few per cent apart. They leave out the kernel, which is most of a
//! request's CPU time, and a simulated miss is not a measured one: a diagnostic, never on the
//! page. A count near zero can come out slightly negative (the two runs' start-ups differ).
//! Needs `valgrind` on the `PATH`.

use std::path::Path;
use std::process::Command;

/// The events a callgrind cache simulation records, in its output's `events:` order.
const EVENTS: [&str; 6] = ["Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw"];

/// Per-request counts of one side, from two runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PerRequest {
    instructions: f64,
    i1_misses: f64,
    d1_read_misses: f64,
    d1_write_misses: f64,
}

/// Measures the three sides at each concurrency against the cluster at `tracker`, and prints a
/// line for each.
pub(crate) fn run(exe: &Path, tracker: &str, domain: &str, quick: bool) -> Result<(), String> {
    let (few, many) = if quick {
        (1_000, 6_000)
    } else {
        (2_000, 12_000)
    };
    let concurrency: &[usize] = if quick { &[128] } else { &[16, 128] };
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    for command in ["get_paths", "file_info"] {
        for &conc in concurrency {
            one(exe, tracker, domain, command, conc, (few, many), dir.path())?;
        }
    }
    Ok(())
}

/// Measures the three sides for `command` at `conc`, and prints a line for each and one
/// comparing them.
fn one(
    exe: &Path,
    tracker: &str,
    domain: &str,
    command: &str,
    conc: usize,
    (few, many): (usize, usize),
    dir: &Path,
) -> Result<(), String> {
    let mut sides = Vec::new();
    for side in ["client", "typed", "raw"] {
        let mut totals = Vec::new();
        for requests in [few, many] {
            let out = dir.join(format!("callgrind.{command}.{side}.{conc}.{requests}"));
            // Its output (warnings about the cache sizes it found) is shown only on failure.
            let run = Command::new("valgrind")
                .args(["--tool=callgrind", "--cache-sim=yes", "--quiet"])
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(exe)
                .args(["bench", "tracker-loop", tracker, domain])
                .args([requests.to_string(), conc.to_string(), side.to_owned()])
                .arg(command)
                .output()
                .map_err(|e| format!("valgrind (tracker-cost needs it on the PATH): {e}"))?;
            if !run.status.success() {
                return Err(format!(
                    "valgrind on tracker-loop {side} {command} c={conc}: {}\n{}",
                    run.status,
                    String::from_utf8_lossy(&run.stderr)
                ));
            }
            let text =
                std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            totals.push(totals_of(&text)?);
        }
        let per = per_request(&totals[0], &totals[1], (many - few) as f64);
        eprintln!(
            "tracker-cost {command:<9} c={conc:<3} {side:<6}: {:>6.0} instructions, {:>5.1} I1 misses, {:>5.1} D1 read and {:>5.1} D1 write misses per request",
            per.instructions, per.i1_misses, per.d1_read_misses, per.d1_write_misses,
        );
        sides.push(per);
    }
    if let [client, typed, raw] = sides[..] {
        eprintln!(
            "tracker-cost {command:<9} c={conc:<3} client over raw: {:.0} more instructions, {:.0} more I1 misses per request; of them the protocol's own work (the typed floor over raw) {:.0} and {:.0}",
            client.instructions - raw.instructions,
            client.i1_misses - raw.i1_misses,
            typed.instructions - raw.instructions,
            typed.i1_misses - raw.i1_misses,
        );
    }
    Ok(())
}

/// The `totals:` of a callgrind output file, as the counts of [`EVENTS`].
fn totals_of(text: &str) -> Result<[f64; EVENTS.len()], String> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
    };
    let events = field("events:").ok_or("no `events:` line in the callgrind output")?;
    let totals = field("totals:")
        .or_else(|| field("summary:"))
        .ok_or("no `totals:` line in the callgrind output")?;
    let mut out = [0.0; EVENTS.len()];
    for (slot, name) in out.iter_mut().zip(EVENTS) {
        let at = events
            .iter()
            .position(|e| *e == name)
            .ok_or_else(|| format!("callgrind recorded no {name} (no cache simulation?)"))?;
        *slot = totals
            .get(at)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("callgrind's total of {name} is missing"))?;
    }
    Ok(out)
}

/// The difference of two runs' totals over the difference of their request counts.
fn per_request(few: &[f64; EVENTS.len()], many: &[f64; EVENTS.len()], requests: f64) -> PerRequest {
    let each = |i: usize| (many[i] - few[i]) / requests;
    PerRequest {
        instructions: each(0),
        i1_misses: each(3),
        d1_read_misses: each(4),
        d1_write_misses: each(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_whatever_the_event_order() {
        let out = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=x\n0 1\nsummary: 3865600 961300 677500 103315 17953 17223 5824 5842 6846\ntotals: 3865588 961300 677500 103313 17953 17223 5822 5842 6846\n";
        assert_eq!(
            totals_of(out).unwrap(),
            [3865588.0, 961300.0, 677500.0, 103313.0, 17953.0, 17223.0]
        );
        let reordered = "events: I1mr Ir D1mw Dr D1mr Dw\ntotals: 4 1 6 2 5 3\n";
        assert_eq!(
            totals_of(reordered).unwrap(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let no_cache = "events: Ir\ntotals: 10\n";
        assert!(totals_of(no_cache).unwrap_err().contains("Dr"));
        assert!(totals_of("events: Ir\n").is_err());
    }

    #[test]
    fn per_request_is_the_difference_over_the_extra_requests() {
        let few = [1_000.0, 0.0, 0.0, 100.0, 10.0, 20.0];
        let many = [21_000.0, 0.0, 0.0, 300.0, 30.0, 60.0];
        assert_eq!(
            per_request(&few, &many, 10.0),
            PerRequest {
                instructions: 2_000.0,
                i1_misses: 20.0,
                d1_read_misses: 2.0,
                d1_write_misses: 4.0,
            }
        );
    }
}
