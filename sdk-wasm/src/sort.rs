//! A stable insertion sort for the SDK's short lists (the ten longest interactions, the
//! entries of one observer callback, an element's classes): the standard library's sorts cost
//! kilobytes of wasm per element type.

/// Sorts `items` so that no item comes after one it is `before`; equal items keep their order
/// (as `Array.prototype.sort`).
pub fn stable_sort_by<T>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && before(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stable_sort_by;

    #[test]
    fn sorts_and_keeps_equal_items_in_order() {
        let mut items = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        stable_sort_by(&mut items, |a, b| a.0 < b.0);
        assert_eq!(items, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }
}
