package dev.panamann.io;

import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.models.StateDicts;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Maps a model's {@link Model#stateDict()} to and from a safetensors file: one F32 tensor per
 * entry (the params by {@link Param#name()} in {@link Model#params()} order, then the
 * buffers, such as batch norm's running statistics). Python opens it with
 * {@code safetensors.numpy.load_file(path)}. Files written before the module-tree names
 * ({@code W1}, {@code b1}, ..., see {@link Model#legacyNames()}) load as well.
 *
 * <p>Loading checks the file against the model before touching it: every parameter must be
 * present with dtype F32 and the model's shape, and the file must hold no tensor the model
 * lacks. All problems are reported at once, naming each parameter with the expected and the
 * found shape or dtype ({@link IllegalArgumentException}); a corrupt or truncated file throws
 * {@link SafeTensorsFormatException} with the byte offset. The data is read into temporary
 * tensors and handed to {@link Model#loadStateDict} only when everything has been read, so a
 * failed load leaves the model's parameters as they were.
 */
public final class ModelIO {
    /** Metadata key saying which program wrote the file. */
    public static final String FORMAT_KEY = "format";
    /** Value of {@link #FORMAT_KEY} in files written here. */
    public static final String FORMAT = "panama-nn";

    private ModelIO() {}

    /**
     * Writes the model's parameters atomically.
     *
     * @param model the model
     * @param file  the file to create or replace (by convention {@code *.safetensors})
     */
    public static void save(Model model, Path file) throws IOException {
        save(model, file, Map.of());
    }

    /**
     * Writes the model's parameters atomically, with extra metadata strings.
     *
     * @param model    the model
     * @param file     the file to create or replace
     * @param metadata free-form strings (e.g. the hyperparameters); {@code format} is added
     */
    public static void save(Model model, Path file, Map<String, String> metadata) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT_KEY, FORMAT);
        meta.putAll(metadata);
        SafeTensors.save(file, model.stateDict(), meta);
    }

    /** The map with {@code prefix} before each name. */
    public static Map<String, Tensor> prefixed(Map<String, Tensor> state, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : state.entrySet()) m.put(prefix + e.getKey(), e.getValue());
        return m;
    }

    /**
     * Loads the parameters saved by {@link #save(Model, Path)} into the model.
     *
     * @return the file's metadata
     */
    public static Map<String, String> load(Model model, Path file) throws IOException {
        return load(model, file, "");
    }

    /**
     * Loads the tensors named {@code prefix + param name} into the model; tensors without the
     * prefix are ignored. With prefix {@code "best/"} this loads the best parameters of a
     * {@code Solver} checkpoint, with {@code "param/"} its current ones.
     *
     * @return the file's metadata
     */
    public static Map<String, String> load(Model model, Path file, String prefix) throws IOException {
        SafeTensors.Header h = SafeTensors.readHeader(file);
        UnaryOperator<String> rename = StateDicts.renamer(model, names(h, prefix));
        check(model.stateDict(), h, prefix, rename); // before any data is read
        try (SafeTensors.Contents c = SafeTensors.load(file, n -> n.startsWith(prefix))) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (var e : c.tensors().entrySet()) state.put(rename.apply(e.getKey().substring(prefix.length())), e.getValue());
            List<String> bad = new ArrayList<>();
            for (var e : state.entrySet()) {
                long n = nonFinite(e.getValue());
                if (n > 0) bad.add("'" + e.getKey() + "' holds " + n + " NaN or infinite values");
            }
            if (!bad.isEmpty()) {
                throw new IllegalArgumentException(file + ": " + String.join("; ", bad) + ". A model with non-finite "
                        + "parameters predicts nothing meaningful (was it saved after training diverged?); not loaded.");
            }
            model.loadStateDict(state);
            return c.metadata();
        }
    }

    /** The names of a file's tensors under {@code prefix}, without it. */
    public static List<String> names(SafeTensors.Header h, String prefix) {
        List<String> names = new ArrayList<>();
        for (String n : h.entries().keySet()) if (n.startsWith(prefix)) names.add(n.substring(prefix.length()));
        return names;
    }

    /** The number of NaN or infinite values in {@code t}. */
    static long nonFinite(Tensor t) {
        java.lang.foreign.MemorySegment s = t.segment();
        long n = 0;
        for (long i = 0, size = t.size(); i < size; i++) {
            if (!Float.isFinite(s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i))) n++;
        }
        return n;
    }

    /**
     * Checks that the tensors under {@code prefix} in a file's header match a model's
     * {@link Model#stateDict()} one to one (names, F32, shapes), before any data is read; throws
     * {@link IllegalArgumentException} listing every mismatch.
     */
    public static void check(Map<String, Tensor> state, SafeTensors.Header h, String prefix) {
        check(state, h, prefix, UnaryOperator.identity());
    }

    /**
     * As {@link #check(Map, SafeTensors.Header, String)}, reading each name of the file (after
     * the prefix) through {@code rename}, e.g. {@link StateDicts#renamer} for a file written
     * with a model's {@link Model#legacyNames()}.
     */
    public static void check(Map<String, Tensor> state, SafeTensors.Header h, String prefix, UnaryOperator<String> rename) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (var e : h.entries().entrySet()) {
            if (!e.getKey().startsWith(prefix)) continue;
            String name = rename.apply(e.getKey().substring(prefix.length()));
            if (state.containsKey(name) && !e.getValue().dtype().equals("F32")) {
                problems.add("param '" + name + "': expected dtype F32 but found " + e.getValue().dtype());
                shapes.put(name, state.get(name).shape()); // reported once, as a dtype problem
            } else {
                shapes.put(name, e.getValue().shape());
            }
        }
        problems.addAll(StateDicts.mismatches(state, shapes, n -> prefix + n));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(h.file() + " does not fit the model (params " + state.keySet() + "): "
                    + String.join("; ", problems));
        }
    }
}
