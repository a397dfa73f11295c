//! The sandbox: a stateful simulator of the Contacts API over real HTTP, for trying the tool and
//! for tests. Shares only the wire types with the client. (Being written.)
