// The closed loop inside a Brian2 C++ standalone program: livn_rl's standalone engine backend.
//
// A one-element "ticker" group calls livn_rl_tick() at the start of every time step. It collects the previous time
// step's spikes and, at the end of a step, hands them to the Python process (livn_rl/engine/standalone/process.py)
// and blocks until the next command; the equations read their stimulus through livn_rl::stimulus_row.
#ifndef LIVN_RL_LOOP_H
#define LIVN_RL_LOOP_H

#include <cstdint>
#include <vector>

namespace livn_rl {

// One array of the model that a reset restores and the parent may write.
struct Variable {
    char *data;          // first element
    int32_t kind;        // 0: double, 1: bool (char), 2: int32, 3: int64
    int64_t itemsize;    // bytes per element
    int64_t size;        // elements
    int32_t owner;       // 0: element e belongs to copy e / per_copy; 1: to copy pre[e] / per_copy; 2: shared
    int64_t per_copy;    // elements (owner 0) or presynaptic neurons (owner 1) per copy
    const int32_t *pre;  // presynaptic neuron of each element (owner 1)
};

// A synaptic pathway's spike queue (one vector of synapse indices per future time step).
struct Queue {
    std::vector< std::vector<int32_t> > *slots;
    const int32_t *pre;
    int64_t per_copy;    // presynaptic neurons per copy
};

// What livn_rl_bind.cpp, generated for each model, tells the loop about the model's arrays.
struct Binding {
    int64_t *timestep;
    double *t;
    int32_t *spikespace;     // the recorded group's spike space: spiking indices, their count at [n_total]
    int64_t n_total;         // recorded neurons of all copies
    int64_t n_copies;
    const double *voltage;   // v of the recorded group (nullptr if it has none)
    std::vector<Variable> variables;
    std::vector<Queue> queues;
    void (*seed)(const uint32_t *words, int n);
};

void bind(Binding &binding);
extern const double *stimulus_row;   // this time step's stimulus current, one value per neuron (nA)
double tick();

}  // namespace livn_rl

#endif
