package dev.panamann.layers;

import dev.panamann.tensor.Param;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Layers applied one after the other; itself a {@link Layer}. Forward runs the layers in
 * order, backward in reverse order; {@link #params()} lists every layer's params in layer
 * order. Closing it closes every layer.
 */
public final class Sequential implements Layer {
    private final List<Layer> layers = new ArrayList<>();

    /** @param layers the layers, first applied first */
    public Sequential(Layer... layers) {
        for (Layer l : layers) add(l);
    }

    /**
     * Appends a layer, which the container owns from now on.
     *
     * @param layer the layer to apply after the current last one
     * @return this
     */
    public Sequential add(Layer layer) {
        if (layer == null) throw new IllegalArgumentException("Sequential: layer is null");
        layers.add(layer);
        return this;
    }

    /** The layers, in order (read-only). */
    public List<Layer> layers() { return Collections.unmodifiableList(layers); }

    /**
     * @param x    input of the first layer
     * @param mode passed to every layer
     * @return output of the last layer (owned by it)
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        for (Layer l : layers) x = l.forward(x, mode);
        return x;
    }

    /**
     * @param dout gradient with respect to the last layer's output
     * @return gradient with respect to the first layer's input (owned by it), or null when the
     *         first layer computes none (e.g. {@link Affine#setInputGradient} off)
     * @throws IllegalStateException when a layer other than the first returns no input gradient
     */
    @Override
    public Tensor backward(Tensor dout) {
        for (int i = layers.size() - 1; i >= 0; i--) {
            dout = layers.get(i).backward(dout);
            if (dout == null && i > 0) {
                throw new IllegalStateException("Sequential: layer " + i + " (" + layers.get(i) + ") returned no input gradient "
                        + "(its input gradient is switched off) but layer " + (i - 1) + " (" + layers.get(i - 1)
                        + ") needs it; only the first layer may skip it");
            }
        }
        return dout;
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>();
        for (Layer l : layers) ps.addAll(l.params());
        return ps;
    }

    /** The generators of every layer, in layer order, each once. */
    @Override
    public List<Rng> generators() {
        List<Rng> g = new ArrayList<>();
        for (Layer l : layers) {
            for (Rng r : l.generators()) if (g.stream().noneMatch(x -> x == r)) g.add(r);
        }
        return Collections.unmodifiableList(g);
    }

    /**
     * The buffers of every layer, in layer order, under the names the layers give them.
     *
     * @throws IllegalStateException naming the buffer when two layers use one name (give them
     *                               distinct names, e.g. {@link BatchNorm#named})
     */
    @Override
    public Map<String, Tensor> buffers() {
        return mergeBuffers("Sequential", layers);
    }

    /** The buffers of {@code layers} in one map, in order; a name used twice is an error naming it. */
    static Map<String, Tensor> mergeBuffers(String container, List<Layer> layers) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Layer l : layers) {
            for (Map.Entry<String, Tensor> b : l.buffers().entrySet()) {
                if (m.putIfAbsent(b.getKey(), b.getValue()) != null) {
                    throw new IllegalStateException(container + ": two layers have a buffer named '" + b.getKey()
                            + "': give them distinct names (e.g. BatchNorm.named)");
                }
            }
        }
        return Collections.unmodifiableMap(m);
    }

    @Override
    public void close() {
        for (Layer l : layers) l.close();
    }

    @Override
    public String toString() { return "Sequential" + layers; }
}
