"""The viewer API and pages: customers' logins, sessions, frames, notes, shares, exports, deletions."""
