//! Progress bars for long work. They draw on stderr only when it is a terminal, so scripts and tests
//! see clean output.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar with rate and ETA; its length is set on the first update.
pub fn bar(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Sets position and length.
pub fn update(bar: &ProgressBar, done: u64, total: u64) {
    bar.set_length(total);
    bar.set_position(done);
}
