//! What a `metrics` key becomes in an exposition: its name and label pairs,
//! made valid (or refused) and put in one order.

use std::borrow::Cow;

use metrics::Key;

use crate::family::{is_label_name, is_metric_name};
use crate::RegisterError;

/// How names that are not valid Prometheus names are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Names {
    /// Each invalid character becomes `_`, and a leading digit gets a `_`
    /// before it (`http.requests` → `http_requests`), as
    /// metrics-exporter-prometheus does.
    Sanitize,
    /// An invalid name is a registration error.
    Strict,
}

impl Names {
    /// The family name of a metric named `name`.
    pub(crate) fn metric<'a>(self, name: &'a str) -> Result<Cow<'a, str>, RegisterError> {
        self.valid(
            name,
            is_metric_name,
            |c| c.is_ascii_alphanumeric() || c == '_' || c == ':',
            RegisterError::InvalidName,
        )
    }

    /// A label name, made valid.
    fn label<'a>(self, name: &'a str) -> Result<Cow<'a, str>, RegisterError> {
        self.valid(
            name,
            is_label_name,
            |c| c.is_ascii_alphanumeric() || c == '_',
            RegisterError::InvalidLabelName,
        )
    }

    /// `name` if `is_valid`; else, sanitizing, with each character not
    /// `allowed` replaced; else (or if empty) the error `invalid` names.
    fn valid<'a>(
        self,
        name: &'a str,
        is_valid: fn(&str) -> bool,
        allowed: fn(char) -> bool,
        invalid: fn(String) -> RegisterError,
    ) -> Result<Cow<'a, str>, RegisterError> {
        if is_valid(name) {
            Ok(Cow::Borrowed(name))
        } else if self == Names::Strict || name.is_empty() {
            Err(invalid(name.into()))
        } else {
            Ok(Cow::Owned(sanitize(name, allowed)))
        }
    }

    /// The key's labels as `name, value, …` in byte order of the names
    /// (a facade key's labels are an unordered set), checked: no reserved
    /// name (`__…`, `le` on a histogram), no name twice.
    pub(crate) fn pairs<'a>(
        self,
        key: &'a Key,
        histogram: bool,
    ) -> Result<Vec<Cow<'a, str>>, RegisterError> {
        let mut labels = Vec::with_capacity(key.labels().len());
        for label in key.labels() {
            let name = self.label(label.key())?;
            if name.starts_with("__") || (histogram && name == "le") {
                return Err(RegisterError::ReservedLabelName(name.into_owned()));
            }
            labels.push((name, label.value()));
        }
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(RegisterError::DuplicateLabelName(
                w[0].0.clone().into_owned(),
            ));
        }
        Ok(labels
            .into_iter()
            .flat_map(|(n, v)| [n, Cow::Borrowed(v)])
            .collect())
    }
}

fn sanitize(name: &str, valid: fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| if valid(c) { c } else { '_' }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Label;

    #[test]
    fn sanitizes_or_refuses() {
        let s = Names::Sanitize;
        assert_eq!(s.metric("http.requests").unwrap(), "http_requests");
        assert_eq!(s.metric("9lives").unwrap(), "_9lives");
        assert_eq!(s.metric("a:b").unwrap(), "a:b");
        assert_eq!(s.metric("é").unwrap(), "_");
        assert!(s.metric("").is_err());
        assert_eq!(
            Names::Strict.metric("http.requests"),
            Err(RegisterError::InvalidName("http.requests".into()))
        );
        assert_eq!(s.label("a:b").unwrap(), "a_b");
        assert!(Names::Strict.label("a:b").is_err());
    }

    #[test]
    fn pairs_are_sorted_and_checked() {
        let key = Key::from_parts("x", vec![Label::new("b", "2"), Label::new("a.x", "1")]);
        let pairs = Names::Sanitize.pairs(&key, false).unwrap();
        assert_eq!(pairs, ["a_x", "1", "b", "2"]);
        let dup = Key::from_parts("x", vec![Label::new("a", "1"), Label::new("a", "2")]);
        assert_eq!(
            Names::Sanitize.pairs(&dup, false),
            Err(RegisterError::DuplicateLabelName("a".into()))
        );
        // Two names that sanitize alike are one name twice.
        let clash = Key::from_parts("x", vec![Label::new("a.b", "1"), Label::new("a_b", "2")]);
        assert!(Names::Sanitize.pairs(&clash, false).is_err());
        let le = Key::from_parts("x", vec![Label::new("le", "1")]);
        assert!(Names::Sanitize.pairs(&le, false).is_ok());
        assert_eq!(
            Names::Sanitize.pairs(&le, true),
            Err(RegisterError::ReservedLabelName("le".into()))
        );
        let reserved = Key::from_parts("x", vec![Label::new("__name__", "y")]);
        assert!(Names::Sanitize.pairs(&reserved, false).is_err());
    }
}
