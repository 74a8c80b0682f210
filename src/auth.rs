//! Bearer tokens and their cache.
