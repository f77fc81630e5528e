//! How alike two short texts are, for suggesting duplicates. Chinese has no spaces, so
//! texts are compared by their overlapping character pairs (bigrams), which works for
//! both scripts: "路灯不亮" and "石龙路路灯不亮了" share 路灯, 灯不, 不亮.

use std::collections::HashSet;

/// Below this, two titles are not worth suggesting as the same concern.
const THRESHOLD: f64 = 0.15;

fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|pair| (pair[0], pair[1])).collect()
}

/// Dice's coefficient of the two texts' bigrams: 0 (nothing shared) to 1 (the same).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (bigrams(a), bigrams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(&b).count();
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// The `limit` items whose text is most like `text`, above the threshold, best first.
pub fn most_similar<T>(
    text: &str,
    items: impl IntoIterator<Item = T>,
    text_of: impl Fn(&T) -> &str,
    limit: usize,
) -> Vec<T> {
    let mut scored: Vec<(f64, T)> = items
        .into_iter()
        .map(|item| (similarity(text, text_of(&item)), item))
        .filter(|(score, _)| *score >= THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(limit)
        .map(|(_, item)| item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_complaint_in_other_words_is_similar() {
        assert!(similarity("路灯不亮", "石龙路路灯不亮了，晚上很黑") > 0.3);
        assert!(similarity("Street light broken", "street light is broken") > 0.5);
    }

    #[test]
    fn different_complaints_are_not() {
        assert!(similarity("路灯不亮", "楼上噪音扰民") < THRESHOLD);
        assert_eq!(similarity("", "路灯"), 0.0);
    }

    #[test]
    fn suggestions_are_ranked_and_cut() {
        let found = most_similar(
            "小区门口路灯不亮",
            ["噪音扰民", "路灯不亮", "小区门口路灯坏了不亮"],
            |s| s,
            1,
        );
        assert_eq!(found, vec!["小区门口路灯坏了不亮"]);
    }
}
