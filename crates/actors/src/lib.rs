//! The EventActor and its domain (filled by the EventActor issue).
