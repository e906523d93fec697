module.exports = { displayName: 'presentation-query', preset: '../../jest.preset.js', rootDir: __dirname };
