package dev.panamann.io;

import dev.panamann.layers.Param;
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
 * Saves and loads a model's parameters as a safetensors file: one F32 tensor per
 * {@link Param}, named by {@link Param#name()}, in {@link Model#params()} order. Python opens it
 * with {@code safetensors.numpy.load_file(path)}.
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
        SafeTensors.save(file, tensors(model.params(), ""), meta);
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
        List<Param> params = model.params();
        SafeTensors.Header h = SafeTensors.readHeader(file);
        check(params, h, prefix);
        try (SafeTensors.Contents c = SafeTensors.load(file, n -> n.startsWith(prefix))) {
            for (Param p : params) p.value().copyFrom(c.tensors().get(prefix + p.name()));
            return c.metadata();
        }
    }

    /**
     * Checks that the tensors under {@code prefix} in a file match the params one to one
     * (names, F32, shapes); throws {@link IllegalArgumentException} listing every mismatch.
     */
    public static void check(List<Param> params, SafeTensors.Header h, String prefix) {
        List<String> problems = new ArrayList<>();
        Map<String, Param> byName = new LinkedHashMap<>();
        for (Param p : params) {
            if (byName.put(prefix + p.name(), p) != null) problems.add("the model has two params named '" + p.name() + "'");
        }
        for (var e : byName.entrySet()) {
            Param p = e.getValue();
            SafeTensors.Entry t = h.entries().get(e.getKey());
            if (t == null) {
                problems.add("param '" + p.name() + "' (shape " + p.value().shapeString() + ") is missing: no tensor '"
                        + e.getKey() + "'");
            } else if (!t.dtype().equals("F32")) {
                problems.add("param '" + p.name() + "': expected dtype F32 but found " + t.dtype());
            } else if (!Arrays.equals(t.shape(), p.value().shape())) {
                problems.add("param '" + p.name() + "': expected shape " + p.value().shapeString() + " but found "
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
            throw new IllegalArgumentException(h.file() + " does not fit the model (params " + params.stream().map(Param::name).toList() + "): "
                    + String.join("; ", problems));
        }
    }
}
