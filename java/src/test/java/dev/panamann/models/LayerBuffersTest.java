package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.panamann.testutil.Legacy;
import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A layer's {@link Layer#buffers()} join its model's, whatever the layer: a new layer needs no change to the model. */
class LayerBuffersTest {

    /** A layer of one file with a saved, not learned, counter of the examples it saw in training. */
    static final class CountingIdentity implements Layer {
        final Tensor seen = Tensor.zeros(1);

        @Override
        public Tensor forward(Tensor x, Mode mode) {
            if (mode == Mode.TRAIN) seen.setFlat(0, seen.getFlat(0) + x.dim(0));
            return x;
        }

        @Override
        public Tensor backward(Tensor dout) { return dout; }

        @Override
        public Map<String, Tensor> buffers() { return Map.of("seen", seen); }

        @Override
        public void close() { seen.close(); }
    }

    static final class Net extends SequentialModel {
        final CountingIdentity counter;
        final BatchNorm bn;

        Net() {
            super(3, 0f);
            bn = add(new BatchNorm(Backs.java(), 3), "1");
            counter = add(new CountingIdentity(), "2");
        }
    }

    @Test
    void buffersOfEveryLayerJoinTheModelWithTheirSuffix() {
        try (Net net = new Net(); Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 7}, 2, 3)) {
            assertEquals(List.of("layers.0.running_mean", "layers.0.running_var", "layers.1.seen"), List.copyOf(net.buffers().keySet()));
            assertEquals(List.of("gamma1", "beta1", "running_mean1", "running_var1", "seen2"), List.copyOf(net.legacyNames().values()));
            assertSame(net.counter.seen, net.buffers().get(Legacy.name(net, "seen2")));
            assertSame(net.bn.runningMean(), net.buffers().get(Legacy.name(net, "running_mean1")));
            net.loss(x, new int[] {0, 2});
            assertEquals(2f, net.buffers().get(Legacy.name(net, "seen2")).getFlat(0));
        }
    }
}
