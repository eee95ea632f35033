package dev.panamann.models;

import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Checks that a state dict (name to tensor) fits a model's {@link Model#stateDict()}: the one
 * comparison that {@link Model#loadStateDict} and a file reader (which compares the shapes in a
 * file's header before reading any data) share.
 */
public final class StateDicts {
    private StateDicts() {}

    /**
     * What keeps entries of the given shapes from loading into {@code own}, one message per
     * problem: each entry of {@code own} that is missing, each shape that differs, each given
     * entry that {@code own} lacks. Empty when they fit one to one.
     *
     * @param own    the model's state dict
     * @param shapes the shapes of the entries to load, by name (a null shape counts as missing)
     * @param source how a given entry's name is shown, e.g. with a file prefix: {@code name -> "best/" + name}
     */
    public static List<String> mismatches(Map<String, Tensor> own, Map<String, int[]> shapes,
                                          UnaryOperator<String> source) {
        List<String> problems = new ArrayList<>();
        for (var e : own.entrySet()) {
            String name = e.getKey();
            Tensor p = e.getValue();
            int[] found = shapes.get(name);
            if (found == null) {
                problems.add("param '" + name + "' (shape " + p.shapeString() + ") is missing: no tensor '" + source.apply(name) + "'");
            } else if (!Arrays.equals(found, p.shape())) {
                problems.add("param '" + name + "': expected shape " + p.shapeString() + " but found " + Arrays.toString(found));
            }
        }
        for (var e : shapes.entrySet()) {
            if (!own.containsKey(e.getKey())) {
                problems.add("tensor '" + source.apply(e.getKey()) + "' (shape "
                        + (e.getValue() == null ? "null" : Arrays.toString(e.getValue())) + ") matches no param of the model");
            }
        }
        return problems;
    }

    /** The shape of each tensor of a state dict (null for a null tensor). */
    public static Map<String, int[]> shapes(Map<String, Tensor> state) {
        Map<String, int[]> m = new LinkedHashMap<>();
        for (var e : state.entrySet()) m.put(e.getKey(), e.getValue() == null ? null : e.getValue().shape());
        return m;
    }

    /**
     * How to read names written for {@code model}: the identity when {@code names} use the
     * model's {@link Model#stateDict()} names (or are unknown), the map from its
     * {@link Model#legacyNames()} to the current names when they use the old names (a file
     * written before the module-tree names).
     *
     * @param names the entry names found, e.g. a file's tensor names without their prefix
     */
    public static UnaryOperator<String> renamer(Model model, Collection<String> names) {
        Map<String, String> legacy = model.legacyNames();
        if (legacy.isEmpty()) return UnaryOperator.identity();
        Map<String, Tensor> own = model.stateDict();
        Map<String, String> current = new HashMap<>();
        for (var e : legacy.entrySet()) current.put(e.getValue(), e.getKey());
        boolean old = false;
        for (String n : names) {
            if (own.containsKey(n)) return UnaryOperator.identity();
            old |= current.containsKey(n);
        }
        return old ? n -> current.getOrDefault(n, n) : UnaryOperator.identity();
    }

    /** The map with each name passed through {@code rename}, in the same order. */
    public static <V> Map<String, V> renamed(Map<String, V> state, UnaryOperator<String> rename) {
        Map<String, V> m = new LinkedHashMap<>();
        for (var e : state.entrySet()) m.put(rename.apply(e.getKey()), e.getValue());
        return m;
    }
}
