//! Part 4: the `mogile-protocol` criterion bench (`benches/codec.rs`), run and read back.

use std::process::{Command, Stdio};

use super::report::{Figure, Section, rate, ratio_target};

/// The bench's own stated target: `get_paths` decodes per second.
const GET_PATHS_TARGET: f64 = 2_000_000.0;

/// Compiles the bench without running it (so that compiling never overlaps a measurement).
pub(crate) fn build(cargo: &str) -> Result<(), String> {
    let status = Command::new(cargo)
        .args([
            "bench",
            "-p",
            "mogile-protocol",
            "--bench",
            "codec",
            "--no-run",
        ])
        .status()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("building the codec bench failed".to_owned())
    }
}

pub(crate) fn run(cargo: &str, quick: bool) -> Result<Vec<Figure>, String> {
    let (warm, measure) = if quick { ("0.5", "1") } else { ("1", "3") };
    let out = Command::new(cargo)
        .args(["bench", "-p", "mogile-protocol", "--bench", "codec", "--"])
        .args(["--warm-up-time", warm, "--measurement-time", measure])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if !out.status.success() {
        return Err("the codec bench failed".to_owned());
    }
    let figures = parse(&String::from_utf8_lossy(&out.stdout));
    if figures.is_empty() {
        return Err("no figures in the codec bench's output".to_owned());
    }
    for f in &figures {
        eprintln!("{}", f.line);
    }
    Ok(figures)
}

/// Reads criterion's report: a `group/name` line (or the name at the start of the `time:` line),
/// `time: [low mid high]` and `thrpt: [low mid high]`; the middle values are the estimates.
fn parse(text: &str) -> Vec<Figure> {
    let mut figures = Vec::new();
    let mut name: Option<String> = None;
    let mut time: Option<String> = None;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.starts_with("codec/") {
            name = Some(first.trim_start_matches("codec/").to_owned());
        }
        if let Some(v) = middle(line, "time:") {
            time = Some(v.join(" "));
        } else if let Some(v) = middle(line, "thrpt:") {
            let (Some(n), Some(t)) = (name.take(), time.take()) else {
                continue;
            };
            let Some(per_sec) = elements_per_sec(&v) else {
                continue;
            };
            let (target, met) = if n == "decode_get_paths" {
                let (t, m) = ratio_target(per_sec / GET_PATHS_TARGET, 1.0);
                (t.replace(">= 1.00x", ">= 2,000,000/s"), Some(m))
            } else {
                ("-".to_owned(), None)
            };
            figures.push(Figure {
                section: Section::Codec,
                line: format!(
                    "codec   {n:<24} {:>12} /s  ({t} per op)  {target}",
                    rate(per_sec)
                ),
                // No baseline to divide by: the CPU-ratio column is empty.
                cells: vec![format!("`{n}`"), rate(per_sec), t, "-".to_owned(), target],
                met,
            });
        }
    }
    figures
}

/// The middle value and unit of `label [a u b u c u]`.
fn middle<'a>(line: &'a str, label: &str) -> Option<Vec<&'a str>> {
    let rest = line[line.find(label)? + label.len()..].trim();
    let inner = rest.strip_prefix('[')?.strip_suffix(']')?;
    let parts: Vec<&str> = inner.split_whitespace().collect();
    (parts.len() == 6).then(|| vec![parts[2], parts[3]])
}

fn elements_per_sec(v: &[&str]) -> Option<f64> {
    let n: f64 = v.first()?.parse().ok()?;
    let scale = match *v.get(1)? {
        "elem/s" => 1.0,
        "Kelem/s" => 1e3,
        "Melem/s" => 1e6,
        "Gelem/s" => 1e9,
        _ => return None,
    };
    Some(n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_output_is_read() {
        let text = "\
Benchmarking codec/decode_get_paths: Analyzing
codec/decode_get_paths  time:   [245.12 ns 246.01 ns 247.03 ns]
                        thrpt:  [4.0481 Melem/s 4.0649 Melem/s 4.0797 Melem/s]
codec/decode_list_keys_1000
                        time:   [101.10 µs 102.20 µs 103.30 µs]
                        thrpt:  [9.6805 Kelem/s 9.7847 Kelem/s 9.8912 Kelem/s]
";
        let f = parse(text);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].cells[0], "`decode_get_paths`");
        assert_eq!(f[0].cells[1], "4,064,900");
        assert_eq!(f[0].cells[2], "246.01 ns");
        assert_eq!(f[0].cells[3], "-");
        assert_eq!(f[0].met, Some(true));
        assert_eq!(f[1].cells[1], "9,785");
        assert_eq!(f[1].met, None);
    }
}
