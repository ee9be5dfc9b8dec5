//! Hedged reads (issue 15): when the first replica has not answered within the hedge delay, the
//! next one is asked too and the first answer wins, within a budget.
