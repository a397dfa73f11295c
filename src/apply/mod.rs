//! Apply: execute a plan's calls through a `ContactsApi`, batching already done by the planner.
//! Emits progress events; never prints. (Being written.)
