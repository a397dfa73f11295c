//! The command line: clap types (their doc comments are the --help text) and one small function
//! per command. (Being written.)
