//! Request decoding (safe against hostile counts) and response encoding.
