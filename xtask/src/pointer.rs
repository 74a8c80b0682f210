//! JSON pointers (RFC 6901): `/paths/~1sales/get` addresses `paths` → `/sales` → `get`.

/// One reference token: `~` becomes `~0` and `/` becomes `~1`.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The key a reference token stands for; the inverse of [`escape`].
pub fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The pointer of a path of keys, e.g. `["paths", "/sales", "get"]` gives `/paths/~1sales/get`.
pub fn from_keys(keys: &[String]) -> String {
    keys.iter().map(|key| format!("/{}", escape(key))).collect()
}

/// `pointer` extended by one key.
pub fn join(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", escape(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tildes_before_slashes_and_back() {
        assert_eq!(join("/paths", "/a~1/{id}"), "/paths/~1a~01~1{id}");
        assert_eq!(unescape("~1a~01~1{id}"), "/a~1/{id}");
        let keys = ["paths", "/sales/{id}", "a~b"].map(String::from);
        assert_eq!(from_keys(&keys), "/paths/~1sales~1{id}/a~0b");
    }
}
