//! With `MUSTER_REPORT_PEAK_MEMORY=1`, the process's peak resident memory (VmHWM, read
//! from `/proc/self/status`) goes to stderr as `peak_memory_kb=N` at exit, for the
//! benchmark report (`benches/report.rs` parses exactly that line).
//!
//! Owns: the environment variable, the `/proc` reading and the line's format.
//! Must not: write anything when the variable is not `1`, write to stdout, or fail the
//! command (no `/proc`, or no VmHWM line: nothing is reported).

use std::io::Write as _;

/// The environment variable that asks for [`report`].
const PEAK_MEMORY_ENV: &str = "MUSTER_REPORT_PEAK_MEMORY";

/// Prints `peak_memory_kb=N` to stderr when asked for and known.
pub fn report() {
    if std::env::var_os(PEAK_MEMORY_ENV).is_none_or(|value| value != "1") {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = peak_kb(&status) {
        // A closed stderr loses the number; it must not panic the command.
        let _ = writeln!(std::io::stderr(), "peak_memory_kb={kb}");
    }
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in kB.
fn peak_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::peak_kb;

    #[test]
    fn the_peak_is_read_from_the_vmhwm_line() {
        let status = "Name:\tmuster\nVmPeak:\t  20000 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(peak_kb(status), Some(12345));
        assert_eq!(peak_kb("Name:\tmuster\n"), None);
    }
}
