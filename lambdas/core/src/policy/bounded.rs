//! Lists in a state machine's state stay bounded however many sources there are: the first
//! entries in full, the count of all (Step Functions limits a state to 256 KiB).

use serde::Serialize;

/// How many entries of a list a summary keeps.
pub const LIST_MAX: usize = 25;

/// The first [`LIST_MAX`] entries pushed, and how many were pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bounded<T> {
    pub first: Vec<T>,
    pub count: usize,
}

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Bounded<T> {
    pub fn new() -> Self {
        Bounded {
            first: Vec::new(),
            count: 0,
        }
    }
    pub fn push(&mut self, item: T) {
        if self.first.len() < LIST_MAX {
            self.first.push(item);
        }
        self.count += 1;
    }
}

impl<T> From<Vec<T>> for Bounded<T> {
    fn from(mut all: Vec<T>) -> Self {
        let count = all.len();
        all.truncate(LIST_MAX);
        Bounded { first: all, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_entries_and_counts_all() {
        let mut b = Bounded::new();
        for i in 0..1000 {
            b.push(i);
        }
        assert_eq!(b.count, 1000);
        assert_eq!(b.first, (0..LIST_MAX).collect::<Vec<_>>());
        let v = Bounded::from(vec![1, 2, 3]);
        assert_eq!((v.first, v.count), (vec![1, 2, 3], 3));
    }
}
