//! Figures that are costly to work out and fine to show a few seconds old: each instance works
//! one out at most once per period and shows it meanwhile. When it goes stale, one caller
//! works it out again while the others keep showing the previous one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The kept value of `entry` while it is younger than `fresh_for`. A stale one is marked
/// fresh for the others and `None` tells this caller to work it out again.
pub fn fresh<T: Clone>(entry: &mut (Instant, T), fresh_for: Duration) -> Option<T> {
    if entry.0.elapsed() < fresh_for {
        return Some(entry.1.clone());
    }
    entry.0 = Instant::now();
    None
}

/// One kept value.
#[derive(Debug)]
pub struct Kept<T> {
    slot: Mutex<Option<(Instant, T)>>,
    fresh_for: Duration,
}

impl<T: Clone> Kept<T> {
    /// Nothing kept yet; a value stays fresh for `fresh_for`.
    pub fn new(fresh_for: Duration) -> Self {
        Kept {
            slot: Mutex::new(None),
            fresh_for,
        }
    }

    /// The value, or `None` when the caller should work it out and [`Kept::put`] it.
    pub fn get(&self) -> Option<T> {
        fresh(
            self.slot.lock().expect("kept value lock").as_mut()?,
            self.fresh_for,
        )
    }

    /// Keeps `value` from now.
    pub fn put(&self, value: T) {
        *self.slot.lock().expect("kept value lock") = Some((Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_caller_refreshes_a_stale_value_while_the_others_keep_it() {
        let kept = Kept::new(Duration::from_millis(50));
        assert_eq!(kept.get(), None, "nothing is kept at first");
        kept.put(7);
        assert_eq!(kept.get(), Some(7));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            kept.get(),
            None,
            "the first caller after it went stale refreshes"
        );
        assert_eq!(
            kept.get(),
            Some(7),
            "the others keep the previous value meanwhile"
        );
        kept.put(8);
        assert_eq!(kept.get(), Some(8));
    }
}
