package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * oneDNN's primitives keep the thread count they were made with (a convolution planned at 2
 * threads ran on 2 after {@code setThreads(1)}), so after {@code Ops.setThreads} every layer with
 * a native plan plans again at its next forward; a backward still uses the plan of its forward.
 */
class PlanThreadsTest {

    @Test
    void layersPlanAgainAtTheirNextForwardAfterTheThreadCountChanges() {
        Backs.nativeOps(); // skips without the native libraries, fails when they are required
        Rng rng = new Rng(5);
        try (NativeOps ops = new NativeOps(2); Tensor x = Tensor.randn(rng, 1f, 4, 3, 8, 8);
             Conv2d conv = new Conv2d(ops, 3, 8, 3, 1, 1, new Rng(1), 0.1f);
             ConvRelu convRelu = new ConvRelu(ops, 3, 8, 3, 1, 1, new Rng(2), 0.1f, "W", "b");
             ConvReluPool convReluPool = new ConvReluPool(ops, 3, 8, 3, 1, 1, 2, 2, new Rng(3), 0.1f, "W", "b");
             ConvBnRelu convBnRelu = new ConvBnRelu(ops, 3, 8, 3, 1, new Rng(4), "u");
             MaxPool2d pool = new MaxPool2d(ops, 2, 2);
             GlobalAvgPool2d globalPool = new GlobalAvgPool2d(ops);
             BatchNorm bn = new BatchNorm(ops, 3)) {
            List<Layer> layers = List.of(conv, convRelu, convReluPool, convBnRelu, pool, globalPool, bn);
            List<BooleanSupplier> stale = List.of(conv::planStale, convRelu::planStale, convReluPool::planStale,
                    convBnRelu::planStale, pool::planStale, globalPool::planStale, bn::planStale);
            List<float[]> before = new ArrayList<>();
            for (Layer l : layers) before.add(l.forward(x, Mode.TRAIN).toArray());
            for (int i = 0; i < layers.size(); i++) assertFalse(stale.get(i).getAsBoolean(), layers.get(i) + " before the change");

            ops.setThreads(1);
            for (int i = 0; i < layers.size(); i++) assertTrue(stale.get(i).getAsBoolean(), layers.get(i) + " after setThreads(1)");
            for (int i = 0; i < layers.size(); i++) {
                Layer l = layers.get(i);
                Tensor y = l.forward(x, Mode.TRAIN);
                assertFalse(stale.get(i).getAsBoolean(), l + " after its forward at 1 thread");
                float[] got = y.toArray(), want = before.get(i);
                assertEquals(want.length, got.length);
                for (int k = 0; k < got.length; k++) {
                    assertEquals(want[k], got[k], 1e-5f * (1 + Math.abs(want[k])), l + " output " + k + " at 1 thread");
                }
                try (Tensor dout = Tensor.randn(new Rng(9), 1f, y.shape())) {
                    l.backward(dout); // the new plan's backward runs
                }
            }

            // a change between forward and backward: the backward runs on the forward's plan
            Tensor y = conv.forward(x, Mode.TRAIN);
            float[] first = y.toArray();
            ops.setThreads(2);
            try (Tensor dout = Tensor.randn(new Rng(9), 1f, y.shape())) {
                assertTrue(conv.planStale());
                conv.backward(dout);
            }
            assertArrayEquals(first, y.toArray(), "the backward left the forward's output alone");
        }
    }
}
