package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.Legacy;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.Labels;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Model.stateDict / loadStateDict: names, live tensors, round trips and mismatches. */
class StateDictTest {

    static FullyConnectedNet bnNet(int[] hidden, long seed) {
        return new FullyConnectedNet(Backs.java(), hidden, 6, 3,
                FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withWeightScale(0.1f).withSeed(seed));
    }

    @Test
    void namesAreTheSavedFileNamesParamsThenBuffers() {
        try (TwoLayerNet two = new TwoLayerNet(Backs.java(), 6, 4, 3, 0.1f, 0f, 1);
             FullyConnectedNet fc = bnNet(new int[] {5}, 1)) {
            assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"), List.copyOf(two.stateDict().keySet()));
            assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias",
                    "layers.1.running_mean", "layers.1.running_var"), List.copyOf(fc.stateDict().keySet()));
            assertEquals(List.of("W1", "b1", "gamma1", "beta1", "W2", "b2", "running_mean1", "running_var1"),
                    List.copyOf(fc.legacyNames().values()));
            assertEquals(fc.stateDict().keySet(), fc.legacyNames().keySet());
            Map<String, Tensor> s = two.stateDict();
            for (Param p : two.params()) assertSame(p.value(), s.get(p.name()), "live tensors, not copies: " + p.name());
            assertSame(fc.buffers().get(Legacy.name(fc, "running_var1")), fc.stateDict().get(Legacy.name(fc, "running_var1")));
        }
    }

    /** A trained net's state into a fresh one: the same scores (running statistics included). */
    @Test
    void roundTripGivesTheSameModel() {
        Rng rng = new Rng(3);
        try (FullyConnectedNet a = bnNet(new int[] {5, 4}, 1); FullyConnectedNet b = bnNet(new int[] {5, 4}, 2);
             Tensor x = Tensor.randn(rng, 1f, 8, 6)) {
            int[] y = Labels.random(rng, 8, 3);
            for (int i = 0; i < 3; i++) a.loss(x, y); // moves the running statistics away from their start
            float[] before = b.scores(x).toArray();
            b.loadStateDict(a.stateDict());
            float[] sa = a.scores(x).toArray(), sb = b.scores(x).toArray();
            assertArrayEquals(sa, sb);
            assertTrue(!java.util.Arrays.equals(before, sb), "the load changed b");
            assertArrayEquals(a.buffers().get(Legacy.name(a, "running_mean2")).toArray(), b.buffers().get(Legacy.name(b, "running_mean2")).toArray());
        }
    }

    @Test
    void mismatchesAreListedAndTheModelIsUnchanged() {
        try (FullyConnectedNet a = bnNet(new int[] {5, 4}, 1); FullyConnectedNet wide = bnNet(new int[] {7, 4}, 2);
             FullyConnectedNet shallow = bnNet(new int[] {5}, 3)) {
            float[] w1 = a.paramMap().get(Legacy.name(a, "W1")).value().toArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.loadStateDict(wide.stateDict()));
            assertTrue(e.getMessage().contains("param 'layers.0.weight': expected shape [6, 5] but found [6, 7]")
                    && e.getMessage().contains("param 'layers.1.running_var': expected shape [5] but found [7]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> a.loadStateDict(shallow.stateDict()));
            assertTrue(e.getMessage().contains("param 'layers.6.weight' (shape [4, 3]) is missing"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> shallow.loadStateDict(a.stateDict()));
            assertTrue(e.getMessage().contains("tensor 'layers.6.weight' (shape [4, 3]) matches no param"), e.getMessage());
            Map<String, Tensor> withNull = new LinkedHashMap<>(a.stateDict());
            withNull.put(Legacy.name(a, "b1"), null);
            e = assertThrows(IllegalArgumentException.class, () -> a.loadStateDict(withNull));
            assertTrue(e.getMessage().contains("param 'b1' (shape [5]) is missing"), e.getMessage());
            assertArrayEquals(w1, a.paramMap().get(Legacy.name(a, "W1")).value().toArray(), "nothing was copied");
        }
    }
}
