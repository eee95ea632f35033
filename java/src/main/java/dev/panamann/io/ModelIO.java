package dev.panamann.io;

import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Saves and loads a model's state as a safetensors file: one F32 tensor per
 * {@link Param}, named by {@link Param#name()}, in {@link Model#params()} order, followed by the
 * model's {@link Model#buffers()} (batch norm's running statistics). Python opens it with
 * {@code safetensors.numpy.load_file(path)}.
 *
 * <p>Loading checks the file against the model before touching it: every parameter must be
 * present with dtype F32 and the model's shape, and the file must hold no tensor the model
 * lacks. All problems are reported at once, naming each parameter with the expected and the
 * found shape or dtype ({@link IllegalArgumentException}); a corrupt or truncated file throws
 * {@link SafeTensorsFormatException} with the byte offset. The data is read into temporary
 * tensors and copied only when everything has been read, so a failed load leaves the model's
 * parameters as they were.
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
        SafeTensors.save(file, state(model), meta);
    }

    /**
     * The model's state by name: the values of its params, then its buffers.
     *
     * @throws IllegalArgumentException when two entries share a name
     */
    public static Map<String, Tensor> state(Model model) {
        Map<String, Tensor> m = tensors(model.params(), "");
        for (var e : model.buffers().entrySet()) {
            if (m.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("a buffer and a param are both named '" + e.getKey() + "'");
            }
        }
        return m;
    }

    /** The map with {@code prefix} before each name. */
    public static Map<String, Tensor> prefixed(Map<String, Tensor> state, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : state.entrySet()) m.put(prefix + e.getKey(), e.getValue());
        return m;
    }

    /** The params as a name-to-value map with a prefix before each name (checks names are unique). */
    public static Map<String, Tensor> tensors(List<Param> params, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Param p : params) {
            if (m.put(prefix + p.name(), p.value()) != null) {
                throw new IllegalArgumentException("two params are named '" + p.name() + "'");
            }
        }
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
        Map<String, Tensor> state = state(model);
        SafeTensors.Header h = SafeTensors.readHeader(file);
        check(state, h, prefix);
        try (SafeTensors.Contents c = SafeTensors.load(file, n -> n.startsWith(prefix))) {
            List<String> bad = new ArrayList<>();
            for (String name : state.keySet()) {
                long n = nonFinite(c.tensors().get(prefix + name));
                if (n > 0) bad.add("'" + name + "' holds " + n + " NaN or infinite values");
            }
            if (!bad.isEmpty()) {
                throw new IllegalArgumentException(file + ": " + String.join("; ", bad) + ". A model with non-finite "
                        + "parameters predicts nothing meaningful (was it saved after training diverged?); not loaded.");
            }
            for (var e : state.entrySet()) e.getValue().copyFrom(c.tensors().get(prefix + e.getKey()));
            return c.metadata();
        }
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
     * Checks that the tensors under {@code prefix} in a file match the model's state (see
     * {@link #state(Model)}) one to one (names, F32, shapes); throws
     * {@link IllegalArgumentException} listing every mismatch.
     */
    public static void check(Map<String, Tensor> state, SafeTensors.Header h, String prefix) {
        List<String> problems = new ArrayList<>();
        Map<String, String> byName = new LinkedHashMap<>();
        for (String name : state.keySet()) byName.put(prefix + name, name);
        for (var e : byName.entrySet()) {
            String name = e.getValue();
            Tensor p = state.get(name);
            SafeTensors.Entry t = h.entries().get(e.getKey());
            if (t == null) {
                problems.add("param '" + name + "' (shape " + p.shapeString() + ") is missing: no tensor '"
                        + e.getKey() + "'");
            } else if (!t.dtype().equals("F32")) {
                problems.add("param '" + name + "': expected dtype F32 but found " + t.dtype());
            } else if (!Arrays.equals(t.shape(), p.shape())) {
                problems.add("param '" + name + "': expected shape " + p.shapeString() + " but found "
                        + t.shapeString());
            }
        }
        for (String name : h.entries().keySet()) {
            if (name.startsWith(prefix) && !byName.containsKey(name)) {
                problems.add("tensor '" + name + "' (shape " + h.entries().get(name).shapeString()
                        + ") matches no param of the model");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(h.file() + " does not fit the model (params " + state.keySet() + "): "
                    + String.join("; ", problems));
        }
    }
}
