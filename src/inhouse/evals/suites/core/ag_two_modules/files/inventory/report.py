def report(store):
    return ", ".join(f"{item}: {n}" for item, n in sorted(store.counts.items()))
