"""Everything about the data behind the answers: registry and MNP readers, the versioned dataset, stores."""
