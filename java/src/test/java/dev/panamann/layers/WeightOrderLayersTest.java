package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every native convolution layer gives the same output, input gradient and weight gradient, to
 * the bit, whether its weights are row-major (reordered per call), held in the order its op
 * reads and writes directly (no reorder; backward data reads them through one reorder from that
 * order), or held in an unrelated order (converted through a row-major copy per call).
 */
class WeightOrderLayersTest {

    record Case(String name, Function<Ops, Layer> make, Function<Layer, Param> weight) {
        @Override
        public String toString() { return name; }
    }

    static Stream<Case> layers() {
        return Stream.of(
                new Case("Conv2d", o -> new Conv2d(o, 16, 32, 3, 1, 1, new Rng(1), 0.1f), l -> ((ConvolutionLayer) l).weight()),
                new Case("ConvRelu", o -> new ConvRelu(o, 16, 32, 3, 1, 1, new Rng(2), 0.1f, "W", "b"),
                        l -> ((ConvolutionLayer) l).weight()),
                new Case("ConvReluPool", o -> new ConvReluPool(o, 16, 32, 3, 1, 1, 2, 2, new Rng(3), 0.1f, "W", "b"),
                        l -> ((ConvolutionLayer) l).weight()),
                new Case("ConvReluPool 3 channels 7x7 (the CIFAR net's)",
                        o -> new ConvReluPool(o, 3, 32, 7, 1, 3, 2, 2, new Rng(4), 0.1f, "W", "b"), l -> ((ConvolutionLayer) l).weight()),
                new Case("ConvBnRelu", o -> new ConvBnRelu(o, 16, 32, 3, 1, new Rng(5), "u"), l -> ((ConvBnRelu) l).conv().weight()));
    }

    /** The values backwards: an order no op uses. */
    private static StorageOrder reversed(int[] shape) {
        int n = (int) Tensor.elementCount(shape);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
        return new StorageOrder("reversed", shape, idx);
    }

    /**
     * Output, input gradient and weight gradient (row-major) of one training pass, after a pass
     * with other weights (so that no buffer of the op still holds these weights or their
     * gradient) and with dW zeroed (so that it must be written).
     */
    private static float[][] pass(Layer l, Param w, Tensor x, Tensor dout) {
        StorageOrder order = w.storageOrder();
        float[] keep = w.value().toArray(); // row-major now
        float[] other = keep.clone();
        for (int i = 0; i < other.length; i++) other[i] = -2f * other[i];
        w.value().copyFrom(other);
        l.forward(x, Mode.TRAIN);
        l.backward(dout);
        w.value().copyFrom(keep);
        if (order != null) {
            w.preferOrder(order);
            w.adoptPreferredOrder();
        }
        w.zeroGrad();
        assertSame(order, w.storageOrder());
        float[] y = l.forward(x, Mode.TRAIN).toArray();
        float[] dx = l.backward(dout).toArray();
        StorageOrder held = w.storageOrder();
        assertSame(held, w.grad().storageOrder(), "the gradient is written in the order the value is held in");
        return new float[][] {y, dx, w.grad().toArray()};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layers")
    void ordersChangeNothingButTheReorders(Case c) {
        Ops ops = Backs.nativeOps();
        Rng rng = new Rng(7);
        try (Layer l = c.make().apply(ops); Tensor x = Tensor.randn(rng, 1f, 4, c.name().contains("3 channels") ? 3 : 16, 12, 12)) {
            Param w = c.weight().apply(l);
            Tensor y0 = l.forward(x, Mode.TRAIN);
            try (Tensor dout = Tensor.randn(rng, 1f, y0.shape())) {
                float[][] rowMajor = pass(l, w, x, dout);
                assertNull(w.storageOrder());

                w.adoptPreferredOrder(); // what the optimizer does: the order the layer's op asked for at its first forward
                StorageOrder own = w.storageOrder();
                assertNotNull(own, c + ": oneDNN's weight layout on x86 is blocked (" + w + ")");
                float[][] direct = pass(l, w, x, dout);
                check(c + " in the op's order " + own.name(), rowMajor, direct);
                w.adoptPreferredOrder();
                long changes = w.orderChanges();
                l.forward(x, Mode.TRAIN);
                l.backward(dout);
                assertEquals(changes, w.orderChanges(), "a pass in the op's order reorders nothing");
                assertSame(own, w.storageOrder());

                w.preferOrder(reversed(w.value().shape()));
                w.adoptPreferredOrder();
                assertEquals("reversed", w.storageOrder().name());
                check(c + " in an unrelated order", rowMajor, pass(l, w, x, dout));
            }
        }
    }

    private static void check(String what, float[][] want, float[][] got) {
        List<String> names = List.of("output", "input gradient", "weight gradient");
        for (int i = 0; i < 3; i++) assertArrayEquals(want[i], got[i], what + ": " + names.get(i));
    }
}
