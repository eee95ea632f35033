package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SplitsTest {

    /** n examples of shape (2): x[i] = (i, -i), y[i] = i % 7. */
    static Dataset ids(int n) {
        Tensor x = Tensor.zeros(n, 2);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x.set(i, i, 0);
            x.set(-i, i, 1);
            y[i] = i % 7;
        }
        return new Dataset(x, y);
    }

    static int[] idsOf(Dataset d) {
        int[] r = new int[d.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = (int) d.x().get(i, 0);
            assertEquals(-r[i], d.x().get(i, 1), 0f);
            assertEquals(r[i] % 7, d.y()[i], "label follows its example");
        }
        return r;
    }

    @Test
    void cs231nSplitTakesConsecutiveViews() {
        try (Dataset train = ids(50); Dataset test = ids(12); Splits s = Splits.cs231n(train, test, 45, 4, 10)) {
            assertEquals(45, s.train().size());
            assertEquals(4, s.val().size());
            assertEquals(10, s.test().size());
            assertArrayEquals(new int[] {45, 46, 47, 48}, idsOf(s.val()));
            assertEquals(44, idsOf(s.train())[44]);
            // views: in-place changes reach the parent
            s.val().x().set(1000f, 0, 0);
            assertEquals(1000f, train.x().get(45, 0), 0f);
        }
        try (Dataset train = ids(50); Dataset test = ids(12)) {
            assertThrows(IllegalArgumentException.class, () -> Splits.cs231n(train, test, 48, 4, 10));
            assertThrows(IllegalArgumentException.class, () -> Splits.cs231n(train, test, 40, 4, 13));
        }
    }

    @Test
    void ratioSplitSizesAreDisjointAndCoverEverything() {
        try (Dataset d = ids(101); Splits s = Splits.byRatio(d, new Rng(5), 2, 1, 1)) {
            assertEquals(51, s.train().size());   // round(101 * 2/4) = 51
            assertEquals(25, s.val().size());     // round(101 * 3/4) = 76
            assertEquals(25, s.test().size());
            int[] all = new int[101];
            int k = 0;
            for (Dataset p : List.of(s.train(), s.val(), s.test())) for (int id : idsOf(p)) all[k++] = id;
            Arrays.sort(all);
            for (int i = 0; i < 101; i++) assertEquals(i, all[i], "every example exactly once");
            // shuffled: the training part is not the first 51 in order
            int[] t = idsOf(s.train());
            int inOrder = 0;
            for (int i = 0; i < t.length; i++) if (t[i] == i) inOrder++;
            assertFalse(inOrder == t.length);
        }
    }

    @Test
    void ratioSplitIsDeterministicPerSeed() {
        try (Dataset d = ids(40);
             Splits a = Splits.byRatio(d, new Rng(9), 0.5, 0.25, 0.25);
             Splits b = Splits.byRatio(d, new Rng(9), 0.5, 0.25, 0.25);
             Splits c = Splits.byRatio(d, new Rng(10), 0.5, 0.25, 0.25)) {
            assertArrayEquals(idsOf(a.train()), idsOf(b.train()));
            assertArrayEquals(idsOf(a.test()), idsOf(b.test()));
            assertFalse(Arrays.equals(idsOf(a.train()), idsOf(c.train())));
        }
    }

    @Test
    void partitionIntoManyPartsAndBadWeights() {
        try (Dataset d = ids(10)) {
            List<Dataset> parts = Splits.partition(d, new Rng(1), 1, 0, 3, 1);
            int[] sizes = parts.stream().mapToInt(Dataset::size).toArray();
            assertArrayEquals(new int[] {2, 0, 6, 2}, sizes);
            parts.forEach(Dataset::close);
            assertThrows(IllegalArgumentException.class, () -> Splits.partition(d, new Rng(1), 1, -1));
            assertThrows(IllegalArgumentException.class, () -> Splits.partition(d, new Rng(1), 0, 0));
            assertThrows(IllegalArgumentException.class, () -> Splits.partition(d, new Rng(1), 1, Double.NaN));
        }
    }
}
