package dev.panamann.testutil;

import dev.panamann.models.Model;

/** The current state-dict name of an entry the tests (and the numpy fixtures) know by its old cs231n-style name. */
public final class Legacy {
    private Legacy() {}

    /** The name of {@code model}'s entry that files written before the module-tree names called {@code old}. */
    public static String name(Model model, String old) {
        for (var e : model.legacyNames().entrySet()) if (e.getValue().equals(old)) return e.getKey();
        throw new IllegalArgumentException(model.getClass().getSimpleName() + " has no entry once named '" + old + "': "
                + model.legacyNames());
    }
}
