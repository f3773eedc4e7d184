//! Text normalisation for the FAQ matcher: Unicode NFKC, case folding, Discord markup
//! removal and splitting into words.
//!
//! Pure string functions; must not import the ledger, the database or anything that
//! talks to a network. Stemming, synonyms and typo correction need the catalog's
//! vocabulary, so they live in `matcher`.
use unicode_normalization::UnicodeNormalization;

/// Writes the normalised form of `text` into `out` (cleared first, so a caller can
/// reuse one buffer): NFKC (full-width letters, ligatures and the like become plain
/// letters), lower case with `ß` → `ss` (Rust has no full case folding; lowercase plus
/// the one common multi-letter fold is what matters for English questions), Discord
/// mentions/channels/emoji (`<@123>`, `<#9>`, `<:pog:7>`) removed since they never say
/// what the question is about, and apostrophes dropped so "what's" and "whats",
/// "can't" and "cant" are one word.
pub fn fold_into(text: &str, out: &mut String) {
    out.clear();
    let mut chars = text.nfkc().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if chars
                .peek()
                .is_some_and(|next| matches!(next, '@' | '#' | ':' | 'a')) =>
            {
                // Skip to the closing '>' only when it really is markup: a bounded
                // look-ahead on a clone, so a stray '<' in prose keeps the text after it.
                let markup: String = chars.clone().take(40).take_while(|&c| c != '>').collect();
                let closed = chars.clone().take(40).any(|c| c == '>');
                if closed && is_discord_markup(&markup) {
                    chars.by_ref().take_while(|&c| c != '>').for_each(drop);
                    out.push(' ');
                } else {
                    out.push(' ');
                }
            }
            '\'' | '’' | '‘' | 'ʼ' => {}
            'ß' => out.push_str("ss"),
            c if c.is_uppercase() => out.extend(c.to_lowercase()),
            c => out.push(c),
        }
    }
}

/// `@123`, `@!123`, `@&123`, `#123`, `:name:123`, `a:name:123` (after the '<').
fn is_discord_markup(inner: &str) -> bool {
    let ends_in_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = inner.strip_prefix('@') {
        ends_in_id(rest.trim_start_matches(['!', '&']))
    } else if let Some(rest) = inner.strip_prefix('#') {
        ends_in_id(rest)
    } else {
        let rest = inner.strip_prefix('a').unwrap_or(inner);
        rest.strip_prefix(':')
            .and_then(|r| r.rsplit_once(':'))
            .is_some_and(|(_, id)| ends_in_id(id))
    }
}

/// Convenience for tests and one-off callers.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// The words of folded text: maximal runs of letters and digits. Everything else
/// (punctuation, `$`, emoji, hyphens) separates words.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Numbers carry no topic ("order 1234" is like "order 7781"), so every run of digits
/// becomes this one word.
pub const NUMBER_WORD: &str = "0";

/// `NUMBER_WORD` for an all-digit word, the word itself otherwise.
pub fn canonical_number(word: &str) -> &str {
    if word.bytes().all(|b| b.is_ascii_digit()) {
        NUMBER_WORD
    } else {
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded_words(text: &str) -> Vec<String> {
        words(&fold(text)).map(str::to_owned).collect()
    }

    #[test]
    fn nfkc_and_case_are_folded() {
        assert_eq!(fold("ＣＲＥＤＩＴＳ"), "credits");
        assert_eq!(fold("ﬁlm"), "film");
        assert_eq!(fold("STRAßE Éé"), "strasse éé");
    }

    #[test]
    fn apostrophes_join_contractions() {
        assert_eq!(
            folded_words("What’s my balance? Can't see it"),
            ["whats", "my", "balance", "cant", "see", "it"]
        );
    }

    #[test]
    fn discord_markup_is_removed() {
        assert_eq!(
            folded_words("<@123456> give <@!42> credits in <#99> <:pog:1234> <a:x:5>"),
            ["give", "credits", "in"]
        );
        // A '<' that is not markup keeps the text after it.
        assert_eq!(
            folded_words("is 5 <a lot? <3"),
            ["is", "5", "a", "lot", "3"]
        );
    }

    #[test]
    fn punctuation_and_amounts_split_words() {
        assert_eq!(
            folded_words("$12.50 on order #7781?!"),
            ["12", "50", "on", "order", "7781"]
        );
        assert_eq!(canonical_number("7781"), NUMBER_WORD);
        assert_eq!(canonical_number("acc1"), "acc1");
    }
}
