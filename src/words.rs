//! English counts for replies: "1 day", "30 days". One place, so no reply says "1 days".

/// `n` and `noun`, the noun plural unless `n` is 1. For nouns whose plural adds an "s".
pub fn count(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "day"), "1 day");
        assert_eq!(count(0, "day"), "0 days");
        assert_eq!(count(30, "decimal"), "30 decimals");
    }
}
