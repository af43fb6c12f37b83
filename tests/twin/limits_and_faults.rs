//! Rate limits and fault injection.
