module.exports = { displayName: 'admin-feature', preset: '../../../jest.preset.js', rootDir: __dirname };
